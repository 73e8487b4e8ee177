// @ts-check
// The page's DOM and text helpers. Job output and arguments are untrusted: they reach
// the DOM only through el()'s text (textContent), never as markup.

/** @param {string} id */
export const $ = function (id) {
  return /** @type {any} */ (document.getElementById(id));
};

/**
 * Builds an element; text only ever through textContent. props: text, cls (className),
 * style (an object set through the CSSOM: allowed by the CSP, style attributes are not),
 * onclick, and attributes.
 * @param {string} tag
 * @param {Record<string, any> | null} [props]
 * @param {(Node | string | null | undefined)[]} [kids]
 * @returns {any}
 */
export function el(tag, props, kids) {
  var e = document.createElement(tag);
  if (props)
    for (var k in props) {
      if (k === 'text') e.textContent = props[k];
      else if (k === 'cls') e.className = props[k];
      else if (k === 'style') Object.assign(e.style, props[k]);
      else if (k === 'onclick') e.onclick = props[k];
      else e.setAttribute(k, props[k]);
    }
  (kids || []).forEach(function (c) {
    if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  });
  return e;
}
export function num(n) {
  return n == null ? '–' : Number(n).toLocaleString();
}
export function dur(s) {
  if (s == null || !isFinite(s)) return '–';
  if (s < 10) return s.toFixed(1) + ' s';
  if (s < 90) return Math.round(s) + ' s';
  var mi = Math.round(s / 60);
  if (mi < 90) return mi + ' min';
  var h = Math.floor(mi / 60);
  if (h < 48) return h + ' h ' + (mi % 60) + ' min';
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}
export function since(iso, now) {
  return iso ? dur((now - Date.parse(iso)) / 1000) : '–';
}
export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '–';
}
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '–';
}
export function tail(text, lines) {
  var a = text.replace(/\n$/, '').split('\n');
  return a.slice(-lines).join('\n');
}
