// @ts-check
// How an attempt's usage and an order's progress read on the page: as `waiter show` says
// them (src/usage/text.ts usageShort, src/deliver/progress.ts progressText). The progress
// text is the job's own: it reaches the DOM only as text (el()'s textContent).
import { dur } from './dom.js';

/** 1536 -> "1.5 KiB": as the CLI prints sizes (src/output/size.ts sizeText). */
export function sizeText(n) {
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'],
    i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i ? String(Math.round(n * 10) / 10) : String(n)) + ' ' + units[i];
}

/** How each figure was measured (src/order.ts Usage.measured), for the usage's tooltip. */
var HOW = {
  'proc-sample+wait': "CPU: the kernel's count for the command and what it waited for; peak: /proc looks each second",
  'proc-sample': '/proc looks each second: the last second may be missing',
  wall: 'wall time only: no /proc on that box, or it ended before a look, reaped with another order',
};

/** "wall 2.3 s, cpu 2.1 s, peak 301.2 MiB" */
export function usageText(u) {
  var parts = ['wall ' + dur(u.wallMs / 1000)];
  if (u.cpuMs != null) parts.push('cpu ' + dur(u.cpuMs / 1000));
  if (u.peakRssBytes != null) parts.push('peak ' + sizeText(u.peakRssBytes));
  else if (u.measured !== 'wall') parts.push('peak not seen (it ended before a look)');
  return parts.join(', ');
}

/** The measured figures' tooltip. */
export function usageHow(u) {
  return 'measured: ' + (HOW[u.measured] || u.measured);
}

/** "42% decoding frame 1,204" */
export function progressText(p) {
  return p.percent + '%' + (p.text ? ' ' + p.text : '');
}
