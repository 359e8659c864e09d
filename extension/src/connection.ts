/**
 * The `OrcFetch` of a running Jupyter app: requests go to `<base url>/orc/api/...` through
 * JupyterLab's server connection, which adds the cookies and the XSRF token the server wants.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { OrcClient, OrcFetch } from './api';

export function serverFetch(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): OrcFetch {
  return (path, init) =>
    ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'orc', 'api', path), init, settings);
}

export function serverClient(): OrcClient {
  return new OrcClient(serverFetch());
}
