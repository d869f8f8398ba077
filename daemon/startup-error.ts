// The one error that stops the daemon before it serves: the host cannot run what the config asks for.
import { HypervisorError } from '../common/errors.js';

/** The host cannot run what the config asks for (no user manager, a port in use, ...). */
export class StartupError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('startup', message, options);
  }
}
