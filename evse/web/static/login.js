"use strict";
// The login form posts JSON (never a plain form post): the server refuses anything else.
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  const password = document.getElementById("password").value;
  let answer;
  try {
    answer = await fetch("/api/login", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({password}),
      credentials: "same-origin",
    });
  } catch (e) {
    error.textContent = "the charger does not answer";
    return;
  }
  if (answer.ok) {
    window.location.assign("/");
    return;
  }
  const body = await answer.json().catch(() => ({}));
  error.textContent = body.error || `refused (${answer.status})`;
});
