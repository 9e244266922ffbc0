/** A started part of Corral (scheduler, agent, dns, lb): the CLI stops it on SIGINT/SIGTERM. */
export interface Service {
  close(): Promise<void>;
  /** Settles, with what happened, if the service stops working on its own; the CLI then closes it and exits 1. */
  readonly failed?: Promise<string>;
}
