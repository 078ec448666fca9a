// Visible strings of the viewer, in French by default. The page may pass translated ones
// (createViewer(root, {strings})) read from a JSON script tag rendered with {% translate %}.
export const DEFAULT_STRINGS = {
  side_R: "D",
  side_L: "G",
  current: "ACTUELLE",
  prior: "ANTÉRIEURE −{months} mois",
  preview: "APERÇU",
  invert: "INV",
  one_to_one: "1:1",
  fit_breast: "ajusté au sein",
  fit_viewport: "ajusté à la fenêtre",
  loupe: "Loupe ×{factor}",
  flag_rotation: "ROTATION : image affichée telle que stockée",
  flag_orientation_unknown: "orientation inconnue",
  flag_view_orientation_incoherent: "incidence/orientation incohérentes",
  flag_no_spacing: "sans échelle (ajustement propre)",
  wl_custom: "F/N manuel",
  wl_auto: "F/N auto",
  empty: "Incidence manquante : {slot}",
  stage: "Étape {n} — {name}",
  stage_1: "antériorité",
  stage_2: "4 incidences",
  stage_3: "paire CC",
  stage_4: "paire MLO",
  stage_5: "CC actuelle / antérieure",
  stage_6: "MLO actuelle / antérieure",
  stage_7: "balayage agrandi",
  stage_8: "incidences supplémentaires",
  stage_9: "décision",
  sweep_top: "haut",
  sweep_centre: "centre",
  sweep_bottom: "bas",
  error_load: "Image illisible : {slot}",
  pixelMismatch: "Pixels décodés différents de l'original (empreinte SHA-256) : verdict bloqué, rechargez le cas.",
};

export function format(template, values = {}) {
  return String(template).replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));
}

export function frenchDate(iso) {
  if (!iso) return "";
  const [y, m, d] = String(iso).slice(0, 10).split("-");
  return d && m && y ? `${d}/${m}/${y}` : String(iso);
}
