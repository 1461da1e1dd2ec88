/** Text for XML 1.0: markup escaped, and the control characters it cannot carry at all (data can hold them) left out. */
export const xml = (s: unknown) => String(s).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
