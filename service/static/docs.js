// Starts Swagger UI on /openapi.json. A file, not an inline script: the
// Content-Security-Policy allows scripts from this server only.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The default validator badge is an image from a public server.
    validatorUrl: null,
  });
});
