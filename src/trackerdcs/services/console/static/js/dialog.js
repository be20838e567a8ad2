// A real in-page confirmation (not window.confirm), so that it can be read, styled and clicked.

import { h } from './dom.js';

let dialog = null;

function build() {
  const title = h('h2', { class: 'dialog-title' });
  const text = h('p', { class: 'dialog-text' });
  const ok = h('button', { class: 'btn btn-danger', value: 'ok', text: 'Confirm' });
  const cancel = h('button', { class: 'btn', value: 'cancel', text: 'Cancel', autofocus: true });
  const form = h('form', { method: 'dialog' }, title, text, h('div', { class: 'dialog-buttons' }, cancel, ok));
  dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' }, form);
  title.id = 'confirm-title';
  dialog.parts = { title, text };
  document.body.append(dialog);
}

export function confirmAction(title, text) {
  if (!dialog) build();
  dialog.parts.title.textContent = title;
  dialog.parts.text.textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
