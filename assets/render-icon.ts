/**
 * Renders the Swarm SOC app icon — a dark shield carrying a hexagonal peer mesh — from one
 * geometry description into:
 *
 *   assets/icon.svg   vector source (the same shapes, for docs and the web build)
 *   assets/icon.png   512×512 RGBA, what electron-builder turns into Linux icons and the macOS .icns
 *   assets/icon.ico   Windows icon: 16, 32, 48, 64, 128 and 256 px PNG images in one ICO
 *
 * Run `node assets/render-icon.ts` after changing the geometry. No dependencies and no browser:
 * a small anti-aliased rasterizer (4×4 supersampling of fills, strokes, lines and circles) and a
 * PNG encoder on node:zlib. Output is deterministic, so a re-render of an unchanged file is a no-op.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

/** Geometry is drawn on a 512×512 canvas and scaled for other sizes. */
const CANVAS = 512;
const SUPERSAMPLE = 4;

type Point = readonly [number, number];
/** RGBA, 0–255 channels, alpha 0–1. */
type Rgba = readonly [number, number, number, number];

interface VerticalGradient {
  y0: number;
  y1: number;
  top: Rgba;
  bottom: Rgba;
}

type Shape =
  | { kind: 'polygon-fill'; points: Point[]; fill: VerticalGradient }
  | { kind: 'polygon-stroke'; points: Point[]; width: number; color: Rgba }
  | { kind: 'line'; from: Point; to: Point; width: number; color: Rgba }
  | { kind: 'circle'; center: Point; radius: number; color: Rgba };

function quadratic(from: Point, control: Point, to: Point, segments: number): Point[] {
  const out: Point[] = [];
  for (let i = 1; i <= segments; i++) {
    const t = i / segments;
    const u = 1 - t;
    out.push([u * u * from[0] + 2 * u * t * control[0] + t * t * to[0], u * u * from[1] + 2 * u * t * control[1] + t * t * to[1]]);
  }
  return out;
}

/** Shield outline: pointed top, straight flanks, curved sides meeting in a point at the bottom. */
function shieldOutline(): Point[] {
  const top: Point = [256, 38];
  const rightShoulder: Point = [420, 94];
  const rightFlank: Point = [420, 250];
  const bottom: Point = [256, 476];
  const leftFlank: Point = [92, 250];
  const leftShoulder: Point = [92, 94];
  return [top, rightShoulder, rightFlank, ...quadratic(rightFlank, [414, 398], bottom, 32), ...quadratic(bottom, [98, 398], leftFlank, 32), leftShoulder];
}

/** A pointy-top hexagon of peers around a central console node. */
function meshNodes(): { center: Point; ring: Point[] } {
  const center: Point = [256, 252];
  const radius = 112;
  const ring: Point[] = [];
  for (let k = 0; k < 6; k++) {
    const angle = ((-90 + 60 * k) * Math.PI) / 180;
    ring.push([center[0] + radius * Math.cos(angle), center[1] + radius * Math.sin(angle)]);
  }
  return { center, ring };
}

const SHIELD_TOP: Rgba = [30, 41, 59, 1]; // slate-800
const SHIELD_BOTTOM: Rgba = [8, 13, 26, 1]; // near-black navy
const RIM: Rgba = [45, 212, 191, 1]; // teal-400
const LINK: Rgba = [94, 234, 212, 0.55]; // teal-300, translucent
const PEER: Rgba = [34, 211, 238, 1]; // cyan-400
const CONSOLE_NODE: Rgba = [52, 211, 153, 1]; // emerald-400: the trusted centre
const NODE_CORE: Rgba = [8, 13, 26, 1];

export function iconShapes(): Shape[] {
  const outline = shieldOutline();
  const { center, ring } = meshNodes();
  const shapes: Shape[] = [
    { kind: 'polygon-fill', points: outline, fill: { y0: 38, y1: 476, top: SHIELD_TOP, bottom: SHIELD_BOTTOM } },
    { kind: 'polygon-stroke', points: outline, width: 16, color: RIM },
  ];
  for (let k = 0; k < 6; k++) {
    const a = ring[k] as Point;
    const b = ring[(k + 1) % 6] as Point;
    shapes.push({ kind: 'line', from: a, to: b, width: 8, color: LINK });
    shapes.push({ kind: 'line', from: center, to: a, width: 8, color: LINK });
  }
  for (const peer of ring) {
    shapes.push({ kind: 'circle', center: peer, radius: 20, color: PEER });
    shapes.push({ kind: 'circle', center: peer, radius: 8, color: NODE_CORE });
  }
  shapes.push({ kind: 'circle', center, radius: 32, color: CONSOLE_NODE });
  shapes.push({ kind: 'circle', center, radius: 13, color: NODE_CORE });
  return shapes;
}

// ---------------------------------------------------------------------------------------------
// SVG

function hexColor([r, g, b]: Rgba): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

/** `fill="#…"` or `stroke="#…"`, with the matching opacity attribute when translucent. */
function paint(attribute: 'fill' | 'stroke', color: Rgba): string {
  return color[3] === 1 ? `${attribute}="${hexColor(color)}"` : `${attribute}="${hexColor(color)}" ${attribute}-opacity="${color[3]}"`;
}

function pathData(points: Point[]): string {
  return `${points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(2)} ${y.toFixed(2)}`).join(' ')} Z`;
}

export function renderSvg(shapes: Shape[]): string {
  const body: string[] = [];
  const defs: string[] = [];
  shapes.forEach((shape, i) => {
    switch (shape.kind) {
      case 'polygon-fill': {
        const { y0, y1, top, bottom } = shape.fill;
        defs.push(
          `<linearGradient id="fill${i}" gradientUnits="userSpaceOnUse" x1="0" y1="${y0}" x2="0" y2="${y1}"><stop offset="0" stop-color="${hexColor(top)}"/><stop offset="1" stop-color="${hexColor(bottom)}"/></linearGradient>`,
        );
        body.push(`<path d="${pathData(shape.points)}" fill="url(#fill${i})"/>`);
        break;
      }
      case 'polygon-stroke':
        body.push(`<path d="${pathData(shape.points)}" fill="none" ${paint('stroke', shape.color)} stroke-width="${shape.width}" stroke-linejoin="round"/>`);
        break;
      case 'line':
        body.push(
          `<line x1="${shape.from[0].toFixed(2)}" y1="${shape.from[1].toFixed(2)}" x2="${shape.to[0].toFixed(2)}" y2="${shape.to[1].toFixed(2)}" ${paint('stroke', shape.color)} stroke-width="${shape.width}" stroke-linecap="round"/>`,
        );
        break;
      case 'circle':
        body.push(`<circle cx="${shape.center[0].toFixed(2)}" cy="${shape.center[1].toFixed(2)}" r="${shape.radius}" ${paint('fill', shape.color)}/>`);
        break;
    }
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CANVAS}" height="${CANVAS}" viewBox="0 0 ${CANVAS} ${CANVAS}">`,
    '<title>Swarm SOC</title>',
    `<defs>${defs.join('')}</defs>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Rasterizer

function distanceToSegment(px: number, py: number, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const lengthSq = dx * dx + dy * dy;
  const t = lengthSq === 0 ? 0 : Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / lengthSq));
  const cx = a[0] + t * dx - px;
  const cy = a[1] + t * dy - py;
  return Math.sqrt(cx * cx + cy * cy);
}

/** Even-odd crossings of a horizontal line with a closed polygon, sorted. */
function crossings(points: Point[], y: number): number[] {
  const xs: number[] = [];
  for (let i = 0; i < points.length; i++) {
    const a = points[i] as Point;
    const b = points[(i + 1) % points.length] as Point;
    if (a[1] <= y === b[1] <= y) continue;
    xs.push(a[0] + ((y - a[1]) / (b[1] - a[1])) * (b[0] - a[0]));
  }
  return xs.sort((p, q) => p - q);
}

function insideByCrossings(xs: number[], x: number): boolean {
  let inside = false;
  for (const cx of xs) {
    if (cx > x) break;
    inside = !inside;
  }
  return inside;
}

function mix(a: Rgba, b: Rgba, t: number): Rgba {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, a[3] + (b[3] - a[3]) * t];
}

/** Straight-alpha RGBA pixels, row-major, `size`×`size`. */
export function rasterize(shapes: Shape[], size: number): Uint8Array {
  const scale = size / CANVAS;
  const pixels = new Uint8Array(size * size * 4);
  const samplesPerPixel = SUPERSAMPLE * SUPERSAMPLE;
  for (let py = 0; py < size; py++) {
    // Per sample row, in canvas units: the polygon crossings, computed once for the whole row.
    const rows: { y: number; crossings: Map<number, number[]> }[] = [];
    for (let sy = 0; sy < SUPERSAMPLE; sy++) {
      const y = (py + (sy + 0.5) / SUPERSAMPLE) / scale;
      const map = new Map<number, number[]>();
      shapes.forEach((shape, i) => {
        if (shape.kind === 'polygon-fill') map.set(i, crossings(shape.points, y));
      });
      rows.push({ y, crossings: map });
    }
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (const row of rows) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const x = (px + (sx + 0.5) / SUPERSAMPLE) / scale;
          const y = row.y;
          // Premultiplied "over" compositing, back to front.
          let sr = 0;
          let sg = 0;
          let sb = 0;
          let sa = 0;
          shapes.forEach((shape, i) => {
            let color: Rgba | null = null;
            switch (shape.kind) {
              case 'polygon-fill':
                if (insideByCrossings(row.crossings.get(i) ?? [], x)) {
                  const t = Math.max(0, Math.min(1, (y - shape.fill.y0) / (shape.fill.y1 - shape.fill.y0)));
                  color = mix(shape.fill.top, shape.fill.bottom, t);
                }
                break;
              case 'polygon-stroke': {
                const half = shape.width / 2;
                for (let k = 0; k < shape.points.length && color === null; k++) {
                  const p = shape.points[k] as Point;
                  const q = shape.points[(k + 1) % shape.points.length] as Point;
                  if (y < Math.min(p[1], q[1]) - half || y > Math.max(p[1], q[1]) + half) continue;
                  if (distanceToSegment(x, y, p, q) <= half) color = shape.color;
                }
                break;
              }
              case 'line':
                if (distanceToSegment(x, y, shape.from, shape.to) <= shape.width / 2) color = shape.color;
                break;
              case 'circle': {
                const dx = x - shape.center[0];
                const dy = y - shape.center[1];
                if (dx * dx + dy * dy <= shape.radius * shape.radius) color = shape.color;
                break;
              }
            }
            if (color === null) return;
            const ca = color[3];
            sr = color[0] * ca + sr * (1 - ca);
            sg = color[1] * ca + sg * (1 - ca);
            sb = color[2] * ca + sb * (1 - ca);
            sa = ca + sa * (1 - ca);
          });
          r += sr;
          g += sg;
          b += sb;
          a += sa;
        }
      }
      const offset = (py * size + px) * 4;
      const alpha = a / samplesPerPixel;
      pixels[offset] = alpha === 0 ? 0 : Math.round(r / samplesPerPixel / alpha);
      pixels[offset + 1] = alpha === 0 ? 0 : Math.round(g / samplesPerPixel / alpha);
      pixels[offset + 2] = alpha === 0 ? 0 : Math.round(b / samplesPerPixel / alpha);
      pixels[offset + 3] = Math.round(alpha * 255);
    }
  }
  return pixels;
}

// ---------------------------------------------------------------------------------------------
// PNG and ICO

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** 8-bit RGBA PNG (color type 6), filter 0 on every row. */
export function encodePng(pixels: Uint8Array, size: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(6, 9); // RGBA
  header.writeUInt8(0, 10); // deflate
  header.writeUInt8(0, 11); // adaptive filtering
  header.writeUInt8(0, 12); // no interlace
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** ICO holding PNG images (valid since Windows Vista; electron-builder accepts it). */
export function encodeIco(images: { size: number; png: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  const entries: Buffer[] = [];
  let offset = 6 + 16 * images.length;
  for (const { size, png } of images) {
    const entry = Buffer.alloc(16);
    entry.writeUInt8(size >= 256 ? 0 : size, 0); // 0 means 256
    entry.writeUInt8(size >= 256 ? 0 : size, 1);
    entry.writeUInt8(0, 2); // no palette
    entry.writeUInt8(0, 3); // reserved
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(png.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += png.length;
    entries.push(entry);
  }
  return Buffer.concat([header, ...entries, ...images.map((i) => i.png)]);
}

export const PNG_SIZE = 512;
export const ICO_SIZES = [16, 32, 48, 64, 128, 256] as const;

function main(): void {
  const dir = dirname(fileURLToPath(import.meta.url));
  const shapes = iconShapes();
  writeFileSync(join(dir, 'icon.svg'), renderSvg(shapes));
  const png = encodePng(rasterize(shapes, PNG_SIZE), PNG_SIZE);
  writeFileSync(join(dir, 'icon.png'), png);
  const ico = encodeIco(ICO_SIZES.map((size) => ({ size, png: encodePng(rasterize(shapes, size), size) })));
  writeFileSync(join(dir, 'icon.ico'), ico);
  console.log(`assets: icon.svg, icon.png (${PNG_SIZE}×${PNG_SIZE}, ${png.length} bytes), icon.ico (${ICO_SIZES.join(', ')} px, ${ico.length} bytes)`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
