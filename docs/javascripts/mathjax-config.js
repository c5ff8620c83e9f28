// MathJax 2, served from the site itself (copied from jupyter-server-mathjax at build time):
// arithmatex writes <script type="math/tex"> elements, MathJax 2's own input format. That
// package ships the STIX-Web fonts only, so they are the ones named here.
window.MathJax = {
  config: ["TeX-AMS-MML_HTMLorMML-full.js"],
  showMathMenu: false,
  messageStyle: "none",
  "HTML-CSS": { availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web", imageFont: null },
};
