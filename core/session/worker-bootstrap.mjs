// Starts a session worker thread: registers tsx's loader in this thread (workers do not inherit
// it), then loads the TypeScript worker. Used both under vitest and from the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
