/* The API docs: Swagger UI (vendor/swagger-ui-5.36.0) renders /api/v2/openapi.json. "Try it
   out" sends GETs to this origin; the online validator (another origin) is off. */
"use strict";
(() => {
  const box = document.getElementById("swagger");
  SwaggerUIBundle({
    url: box.dataset.spec,
    domNode: box,
    deepLinking: true,
    validatorUrl: null,
    supportedSubmitMethods: ["get"],
    defaultModelsExpandDepth: 0,
    onComplete: () => box.setAttribute("data-ready", ""),
  });
})();
