//! QR scanning, only where the platform offers it: the Tauri barcode-scanner
//! plugin on mobile. The plugin is imported lazily, so a desktop or browser
//! build without it still loads; any failure just hides the button.

import { inTauri } from './api';

/** True when a scanner can be offered (Tauri on Android/iOS). */
export function canScan(): boolean {
  if (!inTauri()) return false;
  const ua = typeof navigator === 'undefined' ? '' : navigator.userAgent;
  return /Android|iPhone|iPad/i.test(ua);
}

/** Scans one QR code and returns its text; `null` when cancelled or unavailable. */
export async function scanQr(): Promise<string | null> {
  try {
    const { scan, Format, checkPermissions, requestPermissions } = await import('@tauri-apps/plugin-barcode-scanner');
    let perm = await checkPermissions();
    if (perm !== 'granted') perm = await requestPermissions();
    if (perm !== 'granted') return null;
    const result = await scan({ formats: [Format.QRCode], windowed: false });
    return result?.content ?? null;
  } catch {
    return null;
  }
}
