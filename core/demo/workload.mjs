// Entry point of the demo workload process (see workload.ts). Registers tsx's loader first, the
// same way bin/pagescope.mjs does, so the TypeScript runs with no build step from any directory.
import { register } from 'tsx/esm/api';

register();
await import('./workload.ts');
