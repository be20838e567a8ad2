// The console's HTTP API. Every URL is relative, so the page works under /console/ too.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function toLogin() {
  location.assign('login');
}

async function call(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `console unreachable (${error.message})`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401 && !path.startsWith('api/login')) toLogin();
  if (!response.ok) {
    const detail = typeof data?.detail === 'string' ? data.detail : JSON.stringify(data?.detail ?? response.statusText);
    throw new ApiError(response.status, detail);
  }
  return data;
}

const query = (params) =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();

export const api = {
  login: (user, password) => call('POST', 'api/login', { user, password }),
  logout: () => call('POST', 'api/logout', {}),
  state: () => call('GET', 'api/state'),
  command: (request) => call('POST', 'api/command', request),
  ack: (id) => call('POST', 'api/ack', { id }),
  history: (params) => call('GET', `api/history?${query(params)}`),
  runs: (params) => call('GET', `api/runs?${query(params)}`),
  run: (id) => call('GET', `api/runs/${encodeURIComponent(id)}`),
};
