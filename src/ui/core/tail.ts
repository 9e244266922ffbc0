/**
 * A live tail of a task's stdout or stderr, read through the scheduler
 * (`GET /corral/v1/tasks/<id>/files/read`, Mesos' `{data, offset}`): where to read next and what
 * is kept to show. A tail is a poll by nature: the page asks again from `next` while it is shown.
 */
export interface Tail {
  /** The byte offset to ask from next; -1 before the size is known (asks only for it). */
  next: number;
  /** What is shown: the end of the file, at most `keep` characters, cut at a line start. */
  text: string;
  /** Whether the start of the file is left out. */
  cut: boolean;
}

export const START: Tail = { next: -1, text: '', cut: false };
/** How much of a large file the first read shows, and how much the page keeps as more arrives. */
export const FIRST_BYTES = 64 * 1024;
export const KEEP_CHARS = 256 * 1024;

/** Drops the front of `text` past `keep` characters, at a line start when there is one. */
function kept(text: string, cut: boolean, keep: number): { text: string; cut: boolean } {
  if (text.length <= keep) return { text, cut };
  const from = text.length - keep;
  const line = text.indexOf('\n', from);
  return { text: line === -1 || line === text.length - 1 ? text.slice(from) : text.slice(line + 1), cut: true };
}

/**
 * Folds one read answer into the tail. The answer to offset -1 is the size: the next read starts
 * `FIRST_BYTES` before the end. Data read from `next` is appended. An answer from before `next`
 * means the agent rotated the file (copied aside and truncated): read again from its start.
 */
export function foldRead(tail: Tail, answer: { data: string; offset: number }, bytes: number, keep = KEEP_CHARS): Tail {
  if (tail.next === -1) {
    const from = Math.max(0, answer.offset - FIRST_BYTES);
    return { next: from, text: '', cut: from > 0 };
  }
  if (answer.offset < tail.next) return { next: 0, text: tail.text === '' ? '' : `${tail.text}${tail.text.endsWith('\n') ? '' : '\n'}[the file was rotated]\n`, cut: tail.cut };
  if (answer.data === '') return tail;
  const text = kept(tail.text + answer.data, tail.cut, keep);
  return { next: answer.offset + bytes, ...text };
}
