// placeholder
export async function render(root) { root.textContent = '…'; }
