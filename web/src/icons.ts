// Presence icons after seed 000: colour and a shape that differ per state, so nobody needs to
// tell colours apart (an arrow's direction, a bar, a split disc, a question mark).
import type { Presence } from './api';

export type IconKind = 'available' | 'busy' | 'do_not_disturb' | 'away' | 'inactive' | 'unknown';

const kinds: readonly IconKind[] = ['available', 'busy', 'do_not_disturb', 'away', 'inactive', 'unknown'];

export function iconOf(presence: Presence | undefined): IconKind {
  const icon = presence?.display?.icon;
  if (icon && (kinds as readonly string[]).includes(icon)) return icon as IconKind;
  return iconOfAvailability(presence?.availability);
}

// Graph's availability words, ours and those of an external channel alike.
export function iconOfAvailability(availability: string | undefined): IconKind {
  switch (availability) {
    case 'Available':
      return 'available';
    case 'Busy':
      return 'busy';
    case 'DoNotDisturb':
      return 'do_not_disturb';
    case 'Away':
    case 'BeRightBack':
      return 'away';
    case 'AvailableIdle':
    case 'BusyIdle':
      return 'inactive';
    default:
      return 'unknown';
  }
}

const svgNs = 'http://www.w3.org/2000/svg';

// An arrow from the disc's centre towards one corner: dx, dy are -1 or 1.
function arrow(dx: number, dy: number): string {
  const tip = (v: number) => 10 + v * 5;
  const x = tip(dx);
  const y = tip(dy);
  return `M${10 - dx * 4} ${10 - dy * 4}L${x} ${y}M${x} ${y - dy * 4.5}L${x} ${y}L${x - dx * 4.5} ${y}`;
}

const glyphs: Record<IconKind, string> = {
  available: arrow(-1, 1),
  busy: arrow(-1, -1),
  away: arrow(1, -1),
  unknown: arrow(1, 1),
  do_not_disturb: 'M5 10H15',
  inactive: 'M5 5L15 15',
};

// outOfOffice adds seed 004's overlay: a small ring in the lower right corner, on any state.
export function presenceIcon(kind: IconKind, label: string, outOfOffice = false): SVGSVGElement {
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '-1 -1 22 22');
  svg.setAttribute('class', `icon icon--${kind}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.dataset.icon = kind;
  const disc = document.createElementNS(svgNs, 'circle');
  disc.setAttribute('cx', '10');
  disc.setAttribute('cy', '10');
  disc.setAttribute('r', '9');
  disc.setAttribute('class', 'icon__disc');
  svg.append(disc);
  if (kind === 'inactive') {
    // Split disc: the lower left half green (available), the upper right yellow (away).
    const half = document.createElementNS(svgNs, 'path');
    half.setAttribute('d', 'M3.6 3.6A9 9 0 0 0 16.4 16.4Z');
    half.setAttribute('class', 'icon__half');
    svg.append(half);
  }
  const glyph = document.createElementNS(svgNs, 'path');
  glyph.setAttribute('d', glyphs[kind]);
  glyph.setAttribute('class', 'icon__glyph');
  svg.append(glyph);
  if (outOfOffice) {
    const ring = document.createElementNS(svgNs, 'circle');
    ring.setAttribute('cx', '15.5');
    ring.setAttribute('cy', '15.5');
    ring.setAttribute('r', '3.5');
    ring.setAttribute('class', 'icon__away-overlay');
    svg.append(ring);
  }
  return svg;
}

export interface ChannelPresence {
  channel: 'teams';
  availability: string;
  activity: string;
}

// The user's presence on an external channel (seed 001: Teams), shown beside their own.
export function channelOf(presence: Presence | undefined): ChannelPresence | null {
  const teams = presence?.external?.teams;
  if (!teams?.availability) return null;
  return { channel: 'teams', availability: teams.availability, activity: teams.activity ?? '' };
}

// A small rounded square, so it never passes for the user's own disc, with the state's colour
// and shape; its <title> is the tooltip.
export function channelIcon(channel: ChannelPresence, label: string): SVGSVGElement {
  const kind = iconOfAvailability(channel.availability);
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '-1 -1 22 22');
  svg.setAttribute('class', `icon icon--channel icon--${kind}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.dataset.channel = channel.channel;
  svg.dataset.icon = kind;
  const title = document.createElementNS(svgNs, 'title');
  title.textContent = label;
  const square = document.createElementNS(svgNs, 'rect');
  square.setAttribute('x', '1');
  square.setAttribute('y', '1');
  square.setAttribute('width', '18');
  square.setAttribute('height', '18');
  square.setAttribute('rx', '4');
  square.setAttribute('class', 'icon__disc');
  const glyph = document.createElementNS(svgNs, 'path');
  glyph.setAttribute('d', glyphs[kind]);
  glyph.setAttribute('class', 'icon__glyph');
  svg.append(title, square, glyph);
  return svg;
}
