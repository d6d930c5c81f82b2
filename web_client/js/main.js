// Boot: catalogs, the signed-in user, routes; each view gets the main element and a context.
import { configureApi } from "./api.js";
import { DeskConnection } from "./desk/desk_connection.js";
import { renderOffers } from "./desk/offers_panel.js";
import { h } from "./dom.js";
import { isExpired, savedUser, saveToken, signOut, takeFragmentToken } from "./auth.js";
import { initialLanguage, loadCatalogs, pickLanguage, setLanguage } from "./i18n.js";
import { navigate, resolve, route, startRouter } from "./router.js";
import { renderHeader } from "./views/header.js";
import { notFoundView } from "./views/not_found.js";
import { playbackView } from "./views/playback.js";
import { progressView } from "./views/progress.js";
import { queueView } from "./views/queue.js";
import { sessionView } from "./views/session_view.js";
import { signInView } from "./views/signin.js";
import { slaReportView } from "./views/sla_report.js";
import { surveyView } from "./views/survey.js";
import { ticketCreateView } from "./views/ticket_create.js";
import { ticketDetailView } from "./views/ticket_detail.js";

const state = { user: null, view: null, expired: false, desk: null, stopOffers: null };
// Staff who can be offered tickets keep a desk connection while signed in.
const DESK_ROLES = ["expert", "trainer"];
// The emailed survey link is a real path (/survey/TOKEN) and needs no sign-in.
const SURVEY_PATH = /^\/survey\/([A-Za-z0-9_-]+)$/;
const main = document.getElementById("main");
const header = document.getElementById("app-header");

const context = {
  get user() {
    return state.user;
  },
  get desk() {
    return state.desk;
  },
  navigate,
  signIn(token, to = "/queue") {
    saveToken(token);
    state.user = savedUser();
    state.expired = false;
    startDesk();
    navigate(to);
  },
  signOut() {
    stopDesk();
    signOut();
    state.user = null;
    navigate("/signin");
  },
  tokenExpired() {
    state.expired = true;
    render(location.hash.replace(/^#/, ""));
  },
};

function startDesk() {
  stopDesk();
  const user = state.user;
  if (!user || isExpired(user) || !DESK_ROLES.includes(user.role)) return;
  state.desk = new DeskConnection(user.token).start();
  let panel = document.getElementById("desk-offers");
  if (!panel) {
    panel = h("aside", { id: "desk-offers", cls: "desk-offers", attrs: { "aria-label": "desk.offers_label" } });
    panel.setAttribute("aria-live", "polite");
    document.body.append(panel);
  }
  state.stopOffers = renderOffers(panel, state.desk, navigate);
}

function stopDesk() {
  state.stopOffers?.();
  state.desk?.stop();
  state.desk = null;
  state.stopOffers = null;
}

function render(path) {
  state.view?.destroy?.();
  state.view = null;
  renderHeader(header, context);
  const survey = location.pathname.match(SURVEY_PATH);
  if (survey) {
    state.view = surveyView(main, decodeURIComponent(survey[1]));
    return;
  }
  const signedIn = state.user && !state.expired && !isExpired(state.user);
  if (!signedIn) {
    const expired = state.expired || (state.user && isExpired(state.user));
    state.view = signInView(main, context, { expired, next: path === "/signin" ? null : path });
    return;
  }
  const found = resolve(path === "/signin" ? "/queue" : path);
  state.view = found ? found.handler(main, context, found.params) : notFoundView(main);
  main.focus({ preventScroll: true });
}

async function boot() {
  await loadCatalogs();
  const fragment = takeFragmentToken();
  if (fragment) saveToken(fragment.token);
  state.user = savedUser();
  const saved = localStorage.getItem("teleguide.lang");
  setLanguage(saved || !state.user?.lang ? initialLanguage() : pickLanguage(state.user.lang));
  configureApi(
    () => state.user?.token,
    () => context.tokenExpired(),
  );
  startDesk();
  route("/queue", queueView);
  route("/tickets/new", ticketCreateView);
  route("/tickets/:id", ticketDetailView);
  route("/sessions/:id", sessionView);
  route("/progress/:identity", progressView);
  route("/tickets/:id/recordings/:rec", playbackView);
  route("/reports/sla", slaReportView);
  // A sign-in link opened in a tab that already runs the app changes only the fragment.
  window.addEventListener("hashchange", () => {
    const link = takeFragmentToken();
    if (link) context.signIn(link.token, link.to);
  });
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  startRouter(render);
}

boot();
