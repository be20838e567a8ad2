// Small DOM helpers: build elements once, then touch only what changed.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Set a node's text only when it differs from what this helper last wrote.
export function setText(node, text) {
  if (node._text !== text) {
    node._text = text;
    node.textContent = text;
  }
}

// Replace one class of a group (e.g. a state colour) without touching the others.
export function setVariant(node, group, value) {
  const key = `_${group}`;
  if (node[key] === value) return;
  if (node[key]) node.classList.remove(`${group}-${node[key]}`);
  if (value) node.classList.add(`${group}-${value}`);
  node[key] = value;
}
