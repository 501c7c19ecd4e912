// Accessibility fixes that need the page's script (loaded by _ext/pooling_lab_a11y.py).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The colour-mode button (_templates/theme-switcher.html): its icons are hidden from
  // assistive technology, so its name says which mode it is in, and follows the changes the
  // theme's own script makes to <html data-mode>.
  // (The names are the theme's icon titles; Font Awesome replaces the icons by then.)
  const modes = { light: "Light", dark: "Dark", auto: "System Settings" };
  const buttons = document.querySelectorAll(".theme-switch-button");
  const nameButtons = () => {
    const mode = document.documentElement.dataset.mode || "auto";
    const label = `Color mode: ${modes[mode] || mode}`;
    buttons.forEach((button) => button.setAttribute("aria-label", label));
  };
  if (buttons.length) {
    nameButtons();
    new MutationObserver(nameButtons).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-mode"],
    });
  }

  // The module index's fold toggles (_templates/domainindex.html): Sphinx's doctools.js
  // listens to clicks only; Enter and Space do the same here, and aria-expanded follows.
  document.querySelectorAll("img.toggler").forEach((toggle) => {
    const sync = () =>
      toggle.setAttribute("aria-expanded", String(toggle.src.endsWith("minus.png")));
    toggle.addEventListener("click", () => setTimeout(sync));
    toggle.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        toggle.click();
      }
    });
    setTimeout(sync);
  });
});
