// The login form: JSON to api/login; the server sets the session cookie.

import { api, ApiError } from './api.js';

const form = document.getElementById('login');
const error = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const data = new FormData(form);
  try {
    await api.login(data.get('user'), data.get('password'));
    location.assign('./');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    error.textContent = e.detail;
  }
});
