/**
 * Normalises a PCI bus id so that nvidia-smi's `00000000:83:00.0` and the kernel's
 * `PCI:0000:83:00` (in `NVRM: Xid` lines) name the same GPU: `0000:83:00.0`, lower case,
 * a 4-digit domain and a function number. Returns undefined for text that is not a bus id.
 */
export function normalizePciBusId(raw: string): string | undefined {
  const m = /^(?:PCI:)?(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})(?:\.([0-7]))?$/.exec(raw.trim());
  if (!m) return undefined;
  const [, domain = '0', bus = '', device = '', fn = '0'] = m;
  // nvidia-smi prints a 32-bit domain; PCI domains in practice fit 16 bits, as the kernel prints them.
  const dom = domain.toLowerCase().padStart(8, '0').slice(-4);
  return `${dom}:${bus.toLowerCase().padStart(2, '0')}:${device.toLowerCase().padStart(2, '0')}.${fn}`;
}
