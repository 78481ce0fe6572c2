// Worker bootstrap for watcher tests: registers tsx, then runs the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./watcher-worker-body.ts');
