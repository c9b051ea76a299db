//! Short confirmations ("Visit saved") announced through an aria-live region.

export interface Toast {
  id: number;
  text: string;
  tone: 'ok' | 'error' | 'info';
}

class ToastState {
  items = $state<Toast[]>([]);
}

export const toasts = new ToastState();
let next = 1;

export function showToast(text: string, tone: Toast['tone'] = 'ok', ms = 4000): void {
  const id = next++;
  toasts.items = [...toasts.items, { id, text, tone }];
  setTimeout(() => dismissToast(id), ms);
}

export function dismissToast(id: number): void {
  toasts.items = toasts.items.filter((t) => t.id !== id);
}
