/* /docs: starts Swagger UI (served from the package) with the settings in #swagger-config.
   A static file, so /docs too runs under a policy without inline scripts. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-config").textContent);
  config.dom_id = "#swagger-ui";
  config.oauth2RedirectUrl = window.location.origin + config.oauth2RedirectPath;
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.ui = SwaggerUIBundle(config);
})();
