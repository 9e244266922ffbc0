import { useEffect, useRef, useState } from 'preact/hooks';
import { FIRST_BYTES, foldRead, START, type Tail } from '../core/tail.ts';
import { api, authHeaders, errorText } from './api.ts';

const POLL_MS = 1000;
const bytes = (text: string): number => new TextEncoder().encode(text).length;
const filePath = (taskId: string, what: 'read' | 'download'): string => `/corral/v1/tasks/${encodeURIComponent(taskId)}/files/${what}`;

/**
 * A task's stdout or stderr, tailed through the scheduler (which reads the agent's files API on
 * the caller's behalf: one token, one origin). It reads again every second while the tab is
 * shown and stops while it is hidden; `live` false (a finished run) reads to the end and stops.
 */
export function LogTail({ taskId, live = true }: { taskId: string; live?: boolean }) {
  const [file, setFile] = useState<'stdout' | 'stderr'>('stdout');
  const [tail, setTail] = useState<Tail>(START);
  const [error, setError] = useState<string>();
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let current = START;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let reading = false;
    const step = async (): Promise<void> => {
      timer = undefined;
      reading = true;
      try {
        for (;;) {
          const asked = current.next;
          const answer = await api<{ data: string; offset: number }>('GET', `${filePath(taskId, 'read')}?file=${file}&offset=${asked}`);
          if (stopped) return;
          const read = bytes(answer.data);
          current = foldRead(current, answer, read);
          setTail(current);
          setError(undefined);
          // After the size, a rotation or a full read, read on at once.
          if (asked !== -1 && current.next >= asked && read < FIRST_BYTES) break;
        }
      } catch (err) {
        if (stopped) return;
        setError(errorText(err));
      } finally {
        reading = false;
      }
      if (!stopped && (live || current.next === -1) && document.visibilityState === 'visible') timer = setTimeout(() => void step(), POLL_MS);
    };
    const onVisibility = (): void => {
      if (document.visibilityState === 'visible' && timer === undefined && !reading && live) void step();
      if (document.visibilityState === 'hidden' && timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
    };
    setTail(START);
    void step();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [taskId, file, live]);
  // Follow the end unless the reader scrolled up.
  useEffect(() => {
    const el = pre.current;
    if (el !== null && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [tail.text]);

  const download = async (): Promise<void> => {
    try {
      const response = await fetch(`${filePath(taskId, 'download')}?file=${file}`, { headers: authHeaders() });
      if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `${taskId}-${file}.txt`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 0);
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section class="logs" aria-label={`Logs of ${taskId}`}>
      <div class="toolbar">
        <h3 class="mono">{taskId}</h3>
        <div role="group" aria-label="Which file">
          {(['stdout', 'stderr'] as const).map((f) => <button key={f} type="button" aria-pressed={file === f} onClick={() => setFile(f)}>{f}</button>)}
        </div>
        <button type="button" onClick={() => void download()}>Download {file}</button>
      </div>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      {tail.cut && <p class="hint">The start of the file is left out; Download has all of it.</p>}
      <pre ref={pre} class="log" tabIndex={0} data-file={file}>{tail.text === '' ? (tail.next === -1 ? 'Loading…' : '(empty)') : tail.text}</pre>
    </section>
  );
}
