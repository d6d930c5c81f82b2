// HTTP API calls with the bearer token; errors carry the problem document's code.

/** An HTTP error with the server's problem code. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
  }
}

let tokenSource = () => null;
let onUnauthorized = () => {};

/** Where requests get their token, and what to do on 401 (token expired or revoked). */
export function configureApi(getToken, unauthorized) {
  tokenSource = getToken;
  onUnauthorized = unauthorized;
}

/** Call the API; returns parsed JSON, throws ApiError. */
export async function api(method, path, body = undefined) {
  const headers = { Accept: "application/json" };
  const token = tokenSource();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "");
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  if (response.status === 401) onUnauthorized();
  throw new ApiError(response.status, data?.code || `http_${response.status}`, data?.detail);
}

/** GET shorthand. */
export const get = (path) => api("GET", path);

/** POST shorthand. */
export const post = (path, body) => api("POST", path, body);
