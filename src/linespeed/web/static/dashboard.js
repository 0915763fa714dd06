/* The line board: reads /api/v1/board, /ramp and /ramp/references, then follows
   /api/v1/stream (server-sent events) so the screen updates without polling. */
(function () {
  "use strict";
  var API = "/api/v1";
  var TOKEN_KEY = "linespeed.token";
  var REFRESH_DELAY_MS = 700;
  var state = { board: null, ramp: null, refs: null, chart: null, refreshTimer: null };

  function token() {
    var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (match) {
      localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", window.location.pathname);
    }
    return localStorage.getItem(TOKEN_KEY);
  }

  function $(id) { return document.getElementById(id); }
  function text(id, value) { $(id).textContent = value; }
  function num(value, digits) {
    if (value === null || value === undefined) { return "–"; }
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }
  function pct(value) { return value === null || value === undefined ? "–" : (100 * value).toFixed(1) + "%"; }
  function localTime(iso, zone) {
    if (!iso) { return "–"; }
    return new Date(iso).toLocaleString("en-GB", { timeZone: zone, hour12: false });
  }

  function problem(message) {
    var box = $("problem");
    box.textContent = message || "";
    box.classList.toggle("hidden", !message);
  }

  function get(path) {
    return fetch(API + path, { headers: { Authorization: "Bearer " + token() } })
      .then(function (answer) {
        return answer.json().then(function (body) {
          if (!answer.ok) { throw new Error(path + ": " + (body.detail || body.error)); }
          return body;
        });
      });
  }

  /* -- the board ------------------------------------------------------------------- */
  function showBoard(board) {
    state.board = board;
    var today = board.today;
    text("plant-name", board.name);
    text("day", today.day);
    text("as-of", "as of " + localTime(board.as_of, board.timezone));
    text("completed", num(today.completed));
    var plan = today.planned === null || today.planned === undefined
      ? today.planned_at_takt : today.planned;
    text("planned", num(plan));
    text("plan-note", today.plan_note || "");
    var share = plan ? Math.min(1, today.completed / plan) : 0;
    $("completed-bar").style.width = (100 * share).toFixed(1) + "%";
    text("jph", num(today.jph, 1));
    text("takt-jph", num(today.takt_jph, 1));
    text("jph-vs-takt", pct(today.jph_vs_takt));
    text("wip", num(today.wip));
    text("fpy", pct(today.first_pass_yield));
    text("inspected", num(today.units_inspected));
    text("bottleneck", today.bottleneck || "–");
    showStations(board.stations, today.bottleneck);
    showDefects(board.open_defects);
    showCountdown(board.countdown);
  }

  var STATES = ["running", "starved", "blocked", "down", "planned-stop", "changeover"];
  var SHORTAGE = "shortage:";
  var STOP_WORDS = { down: "down", changeover: "changeover", starved: "starved for parts" };

  /* A station starved because a part ran out (reason `shortage:PART`), not for want of a car. */
  function forParts(state, reason) {
    return state === "starved" && typeof reason === "string" && reason.indexOf(SHORTAGE) === 0;
  }

  function paint(box, state, reason) {
    box.classList.remove("unknown", "parts");
    STATES.forEach(function (name) { box.classList.remove(name); });
    box.classList.add(STATES.indexOf(state) >= 0 ? state : "unknown");
    if (forParts(state, reason)) { box.classList.add("parts"); }
    box.dataset.state = state || "";
    box.dataset.reason = reason || "";
    box.title = box.dataset.station + ": " + (state || "no state reported") +
      (reason ? " (" + reason + ")" : "");
  }

  function showStations(stations, bottleneck) {
    var strip = $("stations");
    strip.textContent = "";
    stations.forEach(function (station) {
      var box = document.createElement("div");
      box.className = "station" + (station.gate ? " gate" : "") +
        (station.station === bottleneck ? " bottleneck" : "");
      box.dataset.testid = "station";
      box.dataset.station = station.station;
      paint(box, station.state, station.reason);
      var cars = document.createElement("div");
      cars.className = "cars";
      cars.textContent = station.cars ? String(station.cars) : "";
      var name = document.createElement("div");
      name.className = "name";
      name.textContent = station.station;
      box.appendChild(cars);
      box.appendChild(name);
      strip.appendChild(box);
    });
    showStops(stations);
  }

  /* Below the strip, in words: every station that is down, in changeover or starved for
     parts, with its reason and since when, so the cause reads from across the hall. */
  function showStops(stations) {
    var list = $("stops"), zone = state.board ? state.board.timezone : undefined;
    list.textContent = "";
    stations.forEach(function (station) {
      var stopped = station.state === "down" || station.state === "changeover" ||
        forParts(station.state, station.reason);
      if (!stopped) { return; }
      var item = document.createElement("li");
      item.className = station.state;
      item.dataset.station = station.station;
      var name = document.createElement("b");
      name.textContent = station.station;
      var reason = forParts(station.state, station.reason)
        ? station.reason.slice(SHORTAGE.length) : (station.reason || "no reason given");
      var since = station.state_since ? " · since " + new Date(station.state_since)
        .toLocaleTimeString("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false }) : "";
      item.appendChild(name);
      item.appendChild(document.createTextNode(" " + STOP_WORDS[station.state] + ": " + reason + since));
      list.appendChild(item);
    });
  }

  function showDefects(defects) {
    text("defect-count", num(defects.length));
    var body = $("defects");
    body.textContent = "";
    defects.slice(0, 8).forEach(function (defect) {
      var row = document.createElement("tr");
      [["vin", defect.vin], ["", defect.code], [defect.severity, defect.severity],
       ["", defect.found_at_station], ["", defect.car_at_station || "–"]].forEach(function (cell) {
        var td = document.createElement("td");
        td.className = cell[0];
        td.textContent = cell[1];
        row.appendChild(td);
      });
      body.appendChild(row);
    });
  }

  function showCountdown(countdown) {
    text("next-milestone", countdown.next_milestone ? num(countdown.next_milestone) : "–");
    text("remaining", num(countdown.remaining));
    text("planned-vin", countdown.planned_vin ||
      (countdown.planned_start_seq ? "start #" + num(countdown.planned_start_seq) : "–"));
    text("planned-note", countdown.probability === null ? "" :
      (countdown.planned_vin ? "" : "not started yet; ") + "probability " +
      pct(countdown.probability) + (countdown.milestone_color ? ", build in " + countdown.milestone_color : ""));
    showForecastDate();
  }

  function showForecastDate() {
    var board = state.board, ramp = state.ramp;
    if (!board || !ramp) { return; }
    var next = board.countdown.next_milestone;
    var forecast = (ramp.forecasts || []).filter(function (f) { return f.target === next; })[0];
    text("forecast-date", forecast ? forecast.date + " (90%: " + forecast.low + " to " +
      (forecast.high || "never") + ")" : "–");
  }

  /* -- the supply tile: the three parts with the least cover ------------------------- */
  var SHORT_COVER_DAYS = 2;
  function showSupply(stock) {
    var body = $("supply");
    body.textContent = "";
    var parts = stock.parts.filter(function (part) { return part.days_of_cover !== null; }).slice(0, 3);
    parts.forEach(function (part) {
      var row = document.createElement("tr");
      row.dataset.part = part.part;
      if (part.days_of_cover < SHORT_COVER_DAYS) { row.className = "short"; }
      [["part", part.part], ["cover", num(part.days_of_cover, 1) + " d"],
       ["out", part.runs_out_on ? shortDay(part.runs_out_on) : "–"]].forEach(function (cell) {
        var td = document.createElement("td");
        td.className = cell[0];
        td.textContent = cell[1];
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    text("supply-note", parts.length ? "days of cover at the planned rate · runs out"
      : "no part is used at the planned rate");
  }
  function shortDay(iso) {
    return new Date(iso + "T12:00:00Z").toLocaleDateString("en-GB", {
      day: "numeric", month: "short", timeZone: "UTC" });
  }

  function refreshBoard() {
    return Promise.all([get("/board"), get("/stock")]).then(function (answers) {
      showBoard(answers[0]);
      showSupply(answers[1]);
      problem("");
    }).catch(function (error) { problem(String(error.message || error)); });
  }

  function refreshSoon() {
    if (state.refreshTimer) { return; }
    state.refreshTimer = setTimeout(function () {
      state.refreshTimer = null;
      refreshBoard();
    }, REFRESH_DELAY_MS);
  }

  /* -- the ramp chart ----------------------------------------------------------------- */
  var DAY_MS = 86400000;
  function days(fromIso, toIso) { return Math.round((Date.parse(toIso) - Date.parse(fromIso)) / DAY_MS); }

  function refreshRamp() {
    return Promise.all([get("/ramp"), get("/ramp/references")]).then(function (answers) {
      state.ramp = answers[0];
      state.refs = answers[1];
      drawRamp();
      showForecastDate();
    }).catch(function (error) { problem(String(error.message || error)); });
  }

  function drawRamp() {
    var ramp = state.ramp, refs = state.refs, holder = $("ramp-chart");
    var plant = ramp.plant;
    var columns = {};
    function put(series, x, y) {
      columns[x] = columns[x] || {};
      columns[x][series] = y;
    }
    var names = ["plant"];
    if (plant) {
      plant.cumulative.forEach(function (point) {
        put("plant", days(plant.start_of_production, point[0]), point[1]);
      });
    }
    var band = [];
    if (plant && plant.cumulative.length) {
      var last = plant.cumulative[plant.cumulative.length - 1];
      var lastX = days(plant.start_of_production, last[0]);
      band.push([lastX, last[1], lastX]);
      put("forecast", lastX, last[1]);
      (ramp.forecasts || []).forEach(function (f) {
        var mid = days(plant.start_of_production, f.date);
        put("forecast", mid, f.target);
        band.push([days(plant.start_of_production, f.low), f.target,
          f.high ? days(plant.start_of_production, f.high) : null]);
      });
    }
    names.push("forecast");
    if (plant && ramp.plan && ramp.plan.cumulative.length) {
      names.push("plan");
      ramp.plan.cumulative.forEach(function (point) {
        put("plan", days(plant.start_of_production, point[0]), point[1]);
      });
    }
    refs.forEach(function (ref) {
      names.push(ref.name);
      ref.days.forEach(function (point) { put(ref.name, point[0], point[1]); });
    });
    var xs = Object.keys(columns).map(Number).sort(function (a, b) { return a - b; });
    var data = [xs];
    names.forEach(function (name) {
      data.push(xs.map(function (x) { return columns[x][name] === undefined ? null : columns[x][name]; }));
    });
    var colors = ["#4fb3ff", "#f5a623", "#e74c3c", "#2ecc71", "#bdc3c7", "#9b59b6"];
    var PLAN_COLOR = "#ff6bd6";
    var series = [{ label: "days since SOP" }];
    names.forEach(function (name, index) {
      var legend = name === "plant" ? (plant ? state.board && state.board.name || "plant" : "plant")
        : name === "forecast" ? "forecast (90% band)"
        : name === "plan" ? "plan"
        : refs.filter(function (r) { return r.name === name; })[0].legend;
      series.push({
        label: legend, stroke: name === "plan" ? PLAN_COLOR : colors[index % colors.length],
        width: index === 0 ? 4 : 2, spanGaps: true,
        dash: name === "forecast" ? [10, 6] : (index > 1 && name !== "plan" ? [4, 4] : undefined),
        value: function (u, v) { return v === null ? "–" : Math.round(v).toLocaleString("en-US"); }
      });
    });
    var width = holder.clientWidth || 700;
    var options = {
      width: width, height: 290, series: series, legend: { show: true },
      scales: { x: { time: false, range: [0, xLimit(band, xs)] } },
      axes: [
        { stroke: "#8a96a8", grid: { stroke: "#232b36" }, font: "16px DejaVu Sans", label: "days since start of production", labelFont: "16px DejaVu Sans" },
        { stroke: "#8a96a8", grid: { stroke: "#232b36" }, font: "16px DejaVu Sans", size: 70,
          values: function (u, ticks) { return ticks.map(function (t) { return t >= 1000 ? (t / 1000) + "k" : t; }); } }
      ],
      hooks: { draw: [function (u) { drawBand(u, band); }] }
    };
    if (state.chart) { state.chart.destroy(); }
    holder.textContent = "";
    state.chart = new uPlot(options, data, holder);
    holder.dataset.points = String(xs.length);
  }

  /* Show the plant's own span and its forecasts (a quarter more), not every reference's
     years: the references are there to compare with the plant, not to squash it. */
  function xLimit(band, xs) {
    var furthest = 0;
    band.forEach(function (point) { furthest = Math.max(furthest, point[0], point[2] || 0); });
    if (!band.length) { return xs.length ? xs[xs.length - 1] : 100; }
    return Math.max(60, Math.ceil(furthest * 1.25));
  }

  function drawBand(u, band) {
    if (band.length < 2) { return; }
    var ctx = u.ctx, fast = [], slow = [];
    band.forEach(function (point) {
      fast.push([u.valToPos(point[0], "x", true), u.valToPos(point[1], "y", true)]);
      if (point[2] !== null) { slow.push([u.valToPos(point[2], "x", true), u.valToPos(point[1], "y", true)]); }
    });
    ctx.save();
    ctx.beginPath();
    fast.forEach(function (p, i) { if (i === 0) { ctx.moveTo(p[0], p[1]); } else { ctx.lineTo(p[0], p[1]); } });
    slow.reverse().forEach(function (p) { ctx.lineTo(p[0], p[1]); });
    ctx.closePath();
    ctx.fillStyle = "rgba(245, 166, 35, 0.25)";
    ctx.fill();
    ctx.restore();
  }

  /* -- the live feed ------------------------------------------------------------------ */
  function follow() {
    var feed = new EventSource(API + "/stream?access_token=" + encodeURIComponent(token()));
    var live = $("live");
    feed.addEventListener("hello", function () {
      live.textContent = "live"; live.className = "live on";
    });
    feed.onerror = function () {
      live.textContent = "reconnecting"; live.className = "live off";
      /* EventSource retries by itself, except after an answer that is not a stream (429:
         too many streams open, 401: token revoked): then it closes, and we try again later. */
      if (feed.readyState === EventSource.CLOSED) {
        setTimeout(follow, 10000 + Math.random() * 10000);
      }
    };
    feed.addEventListener("reset", function () {
      /* the feed could not replay everything since we last heard it: reload what it missed */
      refreshBoard();
    });
    feed.addEventListener("completion", function (message) {
      var car = JSON.parse(message.data);
      if (state.board) {
        state.board.today.completed += 1;
        text("completed", num(state.board.today.completed));
        text("remaining", num(Math.max(0, (state.board.countdown.next_milestone || 0) - car.number)));
      }
      refreshSoon();
    });
    feed.addEventListener("station-state", function (message) {
      var change = JSON.parse(message.data);
      var box = document.querySelector('.station[data-station="' + CSS.escape(change.station) + '"]');
      if (box) { paint(box, change.state, change.reason); }
      refreshSoon();
    });
    feed.addEventListener("milestone", function (message) {
      var car = JSON.parse(message.data);
      var banner = $("milestone-banner");
      banner.textContent = "Milestone: car " + num(car.number) + " is " + car.vin + "!";
      banner.classList.remove("hidden");
      setTimeout(function () { banner.classList.add("hidden"); }, 5 * 60 * 1000);
      refreshRamp();
    });
  }

  function start() {
    if (!token()) {
      $("login").classList.remove("hidden");
      return;
    }
    refreshBoard().then(refreshRamp).then(follow);
    window.addEventListener("resize", function () { if (state.ramp) { drawRamp(); } });
  }

  start();
}());
