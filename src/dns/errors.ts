import { CodedError } from '../shared/coded-error.ts';

/**
 * Coded errors of `corral dns` that callers and operators tell apart: a port it cannot take, and
 * an upstream resolver that fails a forwarded query (logged with the code; the client gets SERVFAIL).
 * A malformed query is not among them: it is answered (FORMERR), see wire.ts.
 */
export class DnsError extends CodedError<DnsErrorCode> {}

export type DnsErrorCode =
  /** The DNS port (UDP or TCP) is taken or not allowed. */
  | 'ERR_DNS_BIND'
  /** An upstream resolver did not answer within --forward-timeout. */
  | 'ERR_DNS_UPSTREAM_TIMEOUT'
  /** An upstream resolver's reply was cut off, too large or not for the question asked. */
  | 'ERR_DNS_UPSTREAM_BAD_REPLY';
