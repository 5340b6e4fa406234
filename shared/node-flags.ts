// Node flags that every launcher of a long-lived xenvfb process (backend, guest, watch daemon,
// device model) passes: the systemd units and the xl hook (scripts/systemd, scripts/hooks,
// filled in by `xenvfb install-hooks`), and the demo's and the watch daemon's children
// (scripts/cli/children.ts).
//
// --no-memory-reducer: V8's memory reducer shrinks an idle heap with incremental GCs paced by
// a timer, waking the process about twice a second for a minute or two each time allocation
// stops. A backend gives its heap back itself when it goes idle (backend/idle-memory.ts), once.
// V8 reads the flag only when the heap is set up, so it cannot be set from inside the process.

export const NO_MEMORY_REDUCER = '--no-memory-reducer';

export const XENVFB_NODE_FLAGS: readonly string[] = [NO_MEMORY_REDUCER];
