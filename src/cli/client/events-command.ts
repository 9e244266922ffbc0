import type { Command } from 'commander';
import { action, EXIT, leaf, withJson } from './command-kit.ts';
import { clockTime, describeEvent } from './core/event-lines.ts';
import { openEventStream } from './event-stream.ts';
import type { ClientProcess } from './output.ts';

const TYPE_WIDTH = 30;

export function registerEventsCommand(program: Command, proc: ClientProcess): void {
  withJson(leaf(program, 'events', 'Follow the scheduler\'s event stream, one readable line per event, until Ctrl-C (--json: one JSON object per line)', [
    'corral events',
    'corral events --type status_update_event --type deployment_failed',
    'corral events --type deployment_success,deployment_failed --json',
  ]))
    .option('--type <types>', 'only events of these types (repeatable, or comma-separated)', (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((t) => t.trim()).filter(Boolean)])
    .action(action(proc, async (ctx) => {
      const { out } = ctx;
      const types = (ctx.flags.type as string[] | undefined) ?? [];
      await ctx.interruptible(async (signal) => {
        const stream = await openEventStream(ctx.client, {
          types,
          signal,
          onEvent: (event) => {
            if (out.json) return out.line(JSON.stringify(event));
            out.line(`${out.dim(clockTime(event.data.timestamp))} ${out.bold(event.type.padEnd(TYPE_WIDTH))} ${describeEvent(event.type, event.data)}`);
          },
        });
        out.note(`Following events of ${ctx.client.master}${types.length > 0 ? ` (${types.join(', ')})` : ''}; Ctrl-C to stop`);
        await stream.done;
      });
      return EXIT.ok;
    }));
}
