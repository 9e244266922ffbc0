import { readdirSync, realpathSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

function removeTree(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // not made here (no cgroups, or the other cgroup version), or already gone
  }
  // Child cgroups first: a cgroup with children cannot be removed; its control files go with it.
  for (const entry of entries) if (entry.isDirectory()) removeTree(join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {
    // still holds a process: the caller's own assertions say why
  }
}

/** Removes a test's cgroup parent and what agents made under it (`agent-<id>`), in every hierarchy. */
export function removeCgroupParent(parent: string): void {
  for (const hierarchy of ['memory', 'cpu', '']) {
    try {
      removeTree(join(hierarchy === '' ? '/sys/fs/cgroup' : realpathSync(`/sys/fs/cgroup/${hierarchy}`), parent));
    } catch {
      // no such hierarchy
    }
  }
}
