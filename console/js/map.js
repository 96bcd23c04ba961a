// Small offline maps in SVG: outlines (GeoJSON polygons), points and cells over a local
// equirectangular projection (longitude scaled by the cosine of the middle latitude). No tiles.
import { s } from './dom.js';

/** Every [lng, lat] position in a GeoJSON geometry's coordinates. */
function positions(coords, out = []) {
  if (typeof coords[0] === 'number') out.push(coords);
  else for (const c of coords) positions(c, out);
  return out;
}

/** The polygons of a Polygon or MultiPolygon geometry, as lists of rings. */
function polygonsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return [geometry.coordinates];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates;
  return [];
}

/**
 * Draws a map.
 * @param {{outlines?: {geometry: any, cls?: string, label?: string, title?: string}[],
 *          cells?: {geometry: any, fill: string, title?: string}[],
 *          points?: {lat: number, lng: number, cls?: string, title?: string, r?: number}[],
 *          width?: number, height?: number, label?: string}} spec
 */
export function drawMap(spec) {
  const width = spec.width || 480;
  const outlines = spec.outlines || [], cells = spec.cells || [], points = spec.points || [];
  const all = [];
  for (const o of outlines) positions(o.geometry.coordinates, all);
  for (const c of cells) positions(c.geometry.coordinates, all);
  for (const p of points) all.push([p.lng, p.lat]);
  if (all.length === 0) all.push([120.15, 30.27]);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of all) {
    minX = Math.min(minX, x); maxX = Math.max(maxX, x);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
  let spanX = (maxX - minX) * k, spanY = maxY - minY;
  const minSpan = 0.004;
  if (spanX < minSpan) { const d = (minSpan - spanX) / 2 / k; minX -= d; maxX += d; spanX = minSpan; }
  if (spanY < minSpan) { const d = (minSpan - spanY) / 2; minY -= d; maxY += d; spanY = minSpan; }
  const pad = 12;
  const height = spec.height || Math.max(160, Math.min(width * 1.2, Math.round(width * spanY / spanX)));
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const offX = (width - spanX * scale) / 2, offY = (height - spanY * scale) / 2;
  const px = (lng) => offX + (lng - minX) * k * scale;
  const py = (lat) => height - offY - (lat - minY) * scale;
  const path = (geometry) => polygonsOf(geometry)
    .map((rings) => rings.map((ring) => 'M' + ring.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('L') + 'Z').join(''))
    .join('');
  const svg = s('svg', { class: 'map', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': spec.label || '' });
  for (const o of outlines) {
    svg.append(s('path', { d: path(o.geometry), class: 'outline ' + (o.cls || ''), 'fill-rule': 'evenodd' },
      o.title || o.label ? s('title', { text: o.title || o.label }) : null));
  }
  for (const c of cells) {
    svg.append(s('path', { d: path(c.geometry), class: 'cell', fill: c.fill }, c.title ? s('title', { text: c.title }) : null));
  }
  for (const o of outlines) {
    if (!o.label) continue;
    // In the outline's top left corner, clear of the points in its middle.
    const ps = positions(o.geometry.coordinates);
    const west = Math.min(...ps.map((p) => p[0])), north = Math.max(...ps.map((p) => p[1]));
    svg.append(s('text', { x: (px(west) + 5).toFixed(1), y: (py(north) + 14).toFixed(1), text: o.label }));
  }
  for (const p of points) {
    svg.append(s('circle', { cx: px(p.lng).toFixed(1), cy: py(p.lat).toFixed(1), r: p.r || 6, class: p.cls || 'here' },
      p.title ? s('title', { text: p.title }) : null));
  }
  return svg;
}
