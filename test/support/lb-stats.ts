import type { LbService } from '../../src/lb/main.ts';
import { httpGet } from './lb-fixtures.ts';

/** How many routing tables an LB has swapped in so far (its `/_corral/health`). */
export async function generation(lb: LbService): Promise<number> {
  const answer = await httpGet(lb.statsAddress.port, '/_corral/health');
  return (JSON.parse(answer.body) as { generation: number }).generation;
}
