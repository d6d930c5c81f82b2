// The signed-in identity: a JWT kept in this tab only (sessionStorage), read from a pasted
// value or from the #token= fragment of a sign-in link (fragments never reach servers).

const STORAGE_KEY = "teleguide.token";

/** The claims of a token (identity, role, name, lang, exp, grants), or null if unreadable. */
export function decodeToken(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
    );
    const claims = JSON.parse(json);
    if (typeof claims.sub !== "string") return null;
    return {
      token,
      identity: claims.sub,
      role: claims.role,
      name: claims.name || claims.sub,
      lang: claims.lang,
      exp: claims.exp,
      grants: claims.grants || {},
    };
  } catch {
    return null;
  }
}

/** Tell whether the token's expiry has passed (with the clock of this device). */
export function isExpired(user, nowMs = Date.now()) {
  return typeof user.exp === "number" && user.exp * 1000 <= nowMs;
}

/** Roles that work the queue and see every ticket (as the server decides in access.py). */
export function isStaff(user) {
  return ["expert", "trainer", "supervisor", "admin"].includes(user?.role);
}

/** The saved user, or null. */
export function savedUser() {
  const token = sessionStorage.getItem(STORAGE_KEY);
  return token ? decodeToken(token) : null;
}

/** Keep a token for this tab. */
export function saveToken(token) {
  sessionStorage.setItem(STORAGE_KEY, token);
}

/** Forget the token. */
export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * Take a token (and an optional route) from a "#token=...&to=/path" fragment; the fragment
 * is removed from the address bar so the token does not linger in history.
 */
export function takeFragmentToken() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (!token) return null;
  const to = params.get("to") || "/queue";
  history.replaceState(null, "", `${location.pathname}#${to}`);
  return { token, to };
}
