// Hash routes: "#/queue", "#/tickets/new", "#/tickets/ID", "#/sessions/ID", "#/progress/ID",
// "#/tickets/ID/recordings/REC", "#/reports/sla".

const routes = [];

/** Register a route pattern such as "/tickets/:id". */
export function route(pattern, handler) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, handler });
}

/** The current path (without the leading "#"). */
export function currentPath() {
  return location.hash.replace(/^#/, "") || "/queue";
}

/** Go to a path. */
export function navigate(path) {
  if (currentPath() === path) dispatch();
  else location.hash = path;
}

/** Find the handler of a path and its parameters, or null. */
export function resolve(path) {
  for (const { regex, names, handler } of routes) {
    const match = regex.exec(path);
    if (match) {
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
      return { handler, params };
    }
  }
  return null;
}

let dispatcher = () => {};

/** Start routing; fn(path) runs on every change. */
export function startRouter(fn) {
  dispatcher = fn;
  window.addEventListener("hashchange", dispatch);
  dispatch();
}

function dispatch() {
  dispatcher(currentPath());
}
