// Starts the attach helper from the source tree: registers tsx's loader, then runs the
// TypeScript. Used by remote-attach.ts (see attach-helper.ts for why it is a process).
import { register } from 'tsx/esm/api';

register();
await import('./attach-helper.ts');
