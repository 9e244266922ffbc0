/** A started part of Corral (scheduler, agent, dns, lb): the CLI stops it on SIGINT/SIGTERM. */
export interface Service {
  close(): Promise<void>;
}
