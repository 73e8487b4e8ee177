// @ts-check
// The page's one way to the JSON API: the token (from the URL's #token=, kept for the
// tab in sessionStorage, sent only as a header) and the Age of every answer.
import { $ } from './dom.js';

/** How often the page asks for its figures. */
export const REFRESH_MS = 2000;

/** @type {Record<string, number>} the Age header (s) of the last answer per path */
export var ages = {};

var token = sessionStorage.getItem('waiter-token') || '';
var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
if (m) {
  token = decodeURIComponent(m[1]);
  sessionStorage.setItem('waiter-token', token);
  history.replaceState(null, '', location.pathname);
}

/** @param {string} t the token typed into the page's form */
export function setToken(t) {
  token = t;
  sessionStorage.setItem('waiter-token', token);
}

/** Whether this tab holds a token (right or wrong: only the server can say). */
export function hasToken() {
  return token !== '';
}

/** @returns {Record<string, string>} */
export function authHeaders() {
  return token ? { Authorization: 'Bearer ' + token } : {};
}

/**
 * @param {string} path
 * @param {RequestInit} [opts]
 * @returns {Promise<any>}
 */
export function api(path, opts) {
  var headers = authHeaders();
  // fetch's own rejection ("Failed to fetch") names no cause a reader can act on.
  var asked = fetch(path, Object.assign({ headers: headers, cache: 'no-store' }, opts || {})).catch(function () {
    throw new Error('the server did not answer');
  });
  return asked.then(function (r) {
    ages[path] = Number(r.headers.get('Age')) || 0;
    return r
      .json()
      .catch(function () {
        return { error: 'HTTP ' + r.status };
      })
      .then(function (body) {
        if (r.status === 401) $('auth').hidden = false;
        if (!r.ok) {
          // The server's 401 speaks to curl (send Authorization: …); here the token form above is the way.
          var said = r.status === 401 ? 'wrong or missing token: enter it above' : body.error || 'HTTP ' + r.status;
          var e = /** @type {Error & { status?: number }} */ (new Error(said));
          e.status = r.status;
          throw e;
        }
        return body;
      });
  });
}

/**
 * A write: the body as JSON (the API refuses any other type), the token as a header as
 * for every request.
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<any>}
 */
export function post(path, body) {
  return api(path, { method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders()), body: JSON.stringify(body) });
}
