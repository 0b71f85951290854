// The fuzz child runs TypeScript: register tsx's loader, then run the child.
import { register } from 'tsx/esm/api';

register();
await import('./child.ts');
