/**
 * Editor code shared by the noojee edit dialogs (nodes/*.html): message lookup, the field rules and their validators,
 * label helpers (extension lists shortened) and the auto-answer preset picker, as `NoojeeEditor.form("<type>")`.
 *
 * Node-RED (1.3+) serves this package's resources/ folder at resources/node-red-contrib-noojee/, and every node's .html
 * loads this file with `<script src>` ahead of its own script. The editor appends a node file's scripts only once the
 * src scripts it names have loaded, so NoojeeEditor exists when each registerType runs; every file names it so that
 * none depends on the order in which the others load. Each load replaces the namespace with an identical one.
 *
 * The rules are the runtime's (nodes/lib/input/*.ts); test/unit/editor-files.test.ts keeps them in step.
 */
(function(global) {
    "use strict";

    // The extension syntax is nodes/lib/input/extensions.ts itself, built into resources/noojee-extensions.js
    // (global NoojeeExtensions), which each node's .html loads beside this file.
    function syntax() {
        return global.NoojeeExtensions;
    }
    // A node label shows at most this many items of an extension list, then "… +N" (the full list is in the dialog
    // and the Info sidebar), and never more than LABEL_MAX_CHARS characters of it.
    var LABEL_ITEMS = 3;
    var LABEL_MAX_CHARS = 40;
    // nodes/lib/input/dial-input.ts
    var PHONE_NUMBER = /^\+?[0-9*#]{1,32}$/;
    var NUMBER_PUNCTUATION = /[\s.()\-\u2010-\u2015]/g;
    var TECH = /^[A-Za-z][A-Za-z0-9]{0,19}$/;
    // The control characters (\p{Cc}) that no one-line text field may hold.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    var CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
    // nodes/lib/input/auto-answer.ts: auto-answer SIP headers by handset vendor; the property stores the header text itself.
    var AUTO_ANSWER_MAX = 200;
    var PRESETS = [
        { id: "none", value: "" },
        { id: "yealink", value: "Call-info:answer-after=0" },
        { id: "grandstream", value: "Call-Info:\\; answer-after=0" },
        { id: "polycom", value: "Alert-Info: Ring Answer" }
    ];
    var CUSTOM = "custom";
    // dial's Technology list: the channel drivers an Asterisk-based PBX commonly has; any other is typed in.
    var TECHS = ["SIP", "PJSIP", "IAX2", "DAHDI", "Local"];

    function presetFor(value) {
        for (var i = 0; i < PRESETS.length; i++) {
            if (PRESETS[i].value === (value || "")) {
                return PRESETS[i];
            }
        }
        return null;
    }

    /** The context stores settings.js configures, as the runtime lists them to the editor ([] when none is listed). */
    function contextStores() {
        var context = RED.settings && RED.settings.context;
        return (context && Array.isArray(context.stores)) ? context.stores : [];
    }

    /** "400, 401, 402, … +9" from "400,401, 402,403,…": the first items of a list as typed, and how many more. */
    function shortList(list) {
        var items = String(list === undefined || list === null ? "" : list).split(",").map(function(item) {
            return item.trim();
        }).filter(function(item) {
            return item !== "";
        });
        var text = items.slice(0, LABEL_ITEMS).join(", ");
        if (text.length > LABEL_MAX_CHARS) {
            text = text.slice(0, LABEL_MAX_CHARS - 1) + "\u2026";
        }
        if (items.length > LABEL_ITEMS) {
            text += ", \u2026 +" + (items.length - LABEL_ITEMS);
        }
        return text;
    }

    /**
     * Why the PBX configuration node `id` cannot work, as far as the editor knows: null, or "missing", "invalid" or
     * "noKey". Node-RED checks a config property only against the config node's own properties (it never
     * validates credentials outside the dialog); the API key's state comes from the runtime (has_apiKey, never the
     * key), loaded by noojee-config.html for every PBX configuration node, or set by its dialog.
     */
    function pbxProblem(id) {
        var config = (id && id !== "_ADD_") ? RED.nodes.node(id) : null;
        if (!config) { return "missing"; }
        if (config.valid === false) { return "invalid"; }
        var creds = config.credentials;
        if (creds && !creds.apiKey && !creds.has_apiKey) { return "noKey"; }
        return null;
    }

    /** The helpers of one node type's form; message keys are full keys ("noojee-dial.validation.tech"). */
    function form(type) {
        // Looks up a message in the type's catalogue (nodes/locales/<lang>/<type>.json).
        function t(key, substitutions) {
            var def = RED.nodes.getType(type);
            if (def && typeof def._ === "function") {
                return def._(key, substitutions);
            }
            return RED._(key, substitutions);
        }

        /**
         * A validator from `problem(v)`, which returns null when v is usable, else a message key (or
         * { key, substitutions }). Node-RED 3.1+ passes opt and shows a returned string; older editors want a boolean.
         */
        function rule(problem) {
            return function(v, opt) {
                var p = problem(v);
                if (p === null) { return true; }
                if (!opt) { return false; }
                return typeof p === "string" ? t(p) : t(p.key, p.substitutions);
            };
        }

        function key(name) {
            return type + ".validation." + name;
        }

        function message(name) {
            return function() {
                return t(type + "." + name);
            };
        }

        return {
            t: t,
            rule: rule,

            /** Empty, or an extension the call methods take (101, SIP/101), spaces around it allowed as the runtime trims. */
            extension: function() {
                return rule(function(v) {
                    var ok = v === undefined || v === "" ||
                        (typeof v === "string" && syntax().DIALABLE_EXTENSION.test(v.trim()));
                    return ok ? null : key("extension");
                });
            },

            /** A list of extensions and ranges (subscribe, presence): <type>.error.invalidExtensions with the reason. */
            extensionList: function() {
                return rule(function(v) {
                    var problem = syntax().checkExtensionList(v);
                    if (problem === null) { return null; }
                    var reason = t(type + ".validation." + problem.key, syntax().problemValues(problem));
                    return { key: type + ".error.invalidExtensions", substitutions: { reason: reason } };
                });
            },

            tech: function() {
                return rule(function(v) {
                    // Missing or empty: the runtime's default (SIP).
                    return v === undefined || v === "" || (typeof v === "string" && TECH.test(v.trim())) ? null : key("tech");
                });
            },

            /** Empty, or a phone number once spaces, dots, brackets and dashes are taken out. */
            number: function() {
                return rule(function(v) {
                    var ok = v === undefined || v === "" ||
                        (typeof v === "string" && PHONE_NUMBER.test(v.replace(NUMBER_PUNCTUATION, "")));
                    return ok ? null : key("number");
                });
            },

            /** Empty, or one header line of at most AUTO_ANSWER_MAX characters (messages <name>Type/Line/Length). */
            header: function(name) {
                return rule(function(v) {
                    if (v === undefined || v === "") { return null; }
                    var problem = null;
                    if (typeof v !== "string") {
                        problem = "Type";
                    } else if (/[\r\n]/.test(v)) {
                        problem = "Line";
                    } else if (v.length > AUTO_ANSWER_MAX) {
                        problem = "Length";
                    }
                    return problem && { key: key(name + problem), substitutions: { max: AUTO_ANSWER_MAX } };
                });
            },

            /** One line of text of at most `max` characters. */
            text: function(name, max) {
                return rule(function(v) {
                    var ok = v === undefined || (typeof v === "string" && !CONTROL.test(v) && v.trim().length <= max);
                    return ok ? null : { key: key(name), substitutions: { max: max } };
                });
            },

            /** A checkbox: true, false or not yet saved. */
            flag: function(name) {
                return rule(function(v) {
                    return v === undefined || v === true || v === false ? null : key(name);
                });
            },

            /** One of a select's values, or not yet saved (nodes saved before the option existed). */
            oneOf: function(name, values) {
                return rule(function(v) {
                    return v === undefined || values.indexOf(v) !== -1 ? null : key(name);
                });
            },

            contextStores: contextStores,

            /**
             * Shows the default for each property `node` lacks (a flow written by hand or by an older version), as
             * the runtime uses it (nodes/property-defaults.ts): Node-RED would show an empty field, or an unticked
             * box, and Done would save that. Call first in oneditprepare.
             */
            fillMissing: function(node) {
                var def = RED.nodes.getType(type);
                var prefix = def.category === "config" ? "#node-config-input-" : "#node-input-";
                Object.keys(def.defaults).forEach(function(prop) {
                    var input = $(prefix + prop);
                    var value = def.defaults[prop].value;
                    // Missing, or empty where the runtime reads "" as its default (Long poll, Technology).
                    var unset = node[prop] === undefined || (node[prop] === "" && value !== "" && value !== undefined);
                    if (!unset || input.length === 0) { return; }
                    if (input.attr("type") === "checkbox") {
                        input.prop("checked", value === true);
                    } else {
                        input.val(value);
                    }
                });
            },

            /**
             * The validator of the PBX property: the node gets the editor's warning triangle (and the deploy warning)
             * when its PBX configuration is missing, invalid or has no API key. A validator replaces Node-RED's own
             * check of a config property, so this one does that check too.
             */
            server: function() {
                return function(v, opt) {
                    var problem = pbxProblem(v);
                    if (problem === null) { return true; }
                    if (!opt) { return false; }
                    var config = RED.nodes.node(v);
                    var def = RED.nodes.getType("noojee-config");
                    var name = config ? (config.name || config.host || "") : "";
                    var key = "noojee-config.pbx." + problem;
                    return def && typeof def._ === "function" ? def._(key, { name: name }) : RED._(key, { name: name });
                };
            },

            /**
             * Fills `select` with "" (labelled `labels.none`) and the context stores (`labels.store(name)`), and
             * selects `current`. A saved store settings.js no longer configures is kept (`labels.missing(name)`),
             * not silently changed, so that validation can say so.
             */
            storeSelect: function(select, current, labels) {
                select.empty();
                $("<option>").val("").text(labels.none).appendTo(select);
                contextStores().forEach(function(name) {
                    $("<option>").val(name).text(labels.store(name)).appendTo(select);
                });
                if (current !== "" && contextStores().indexOf(current) === -1) {
                    $("<option>").val(current).text(labels.missing(current)).appendTo(select);
                }
                select.val(current);
            },

            /**
             * A node's label from its extension list: at most LABEL_ITEMS items as typed, then "… +N" for the N
             * items left out, cut to LABEL_MAX_CHARS characters, so that a long list never runs off the canvas.
             */
            listLabel: function(list) {
                return shortList(list);
            },

            paletteLabel: message("paletteLabel"),
            message: message,
            labelStyle: function() {
                return this.name ? "node_label_italic" : "";
            },

            /**
             * dial's Technology: the select #node-input-tech-preset lists TECHS and "other…"; the text field
             * #node-input-tech (the property) is shown for another value and written when a listed one is chosen.
             */
            techPicker: function(value) {
                var select = $("#node-input-tech-preset");
                var input = $("#node-input-tech");
                TECHS.forEach(function(tech) {
                    $("<option>").val(tech).text(tech).appendTo(select);
                });
                $("<option>").val("").text(t(type + ".techOther")).appendTo(select);
                var listed = TECHS.indexOf(value === undefined ? "SIP" : value) !== -1;
                select.val(listed ? (value === undefined ? "SIP" : value) : "");
                input.toggleClass("hide", listed);
                select.on("change", function() {
                    var chosen = select.val();
                    input.toggleClass("hide", chosen !== "");
                    if (chosen !== "") {
                        input.val(chosen);
                    } else {
                        input.val("").trigger("focus");
                    }
                    input.trigger("change");
                });
            },

            /**
             * Fills the select #node-input-<field>-preset with the auto-answer presets (labels from <type>.preset.*)
             * and "custom", selects the one matching `value`, and shows the row .node-input-<field>-row with the
             * header field #node-input-<field> only for a custom header. Choosing a preset writes its header there.
             */
            presetPicker: function(field, value) {
                var select = $("#node-input-" + field + "-preset");
                var input = $("#node-input-" + field);
                var customRow = $(".node-input-" + field + "-row");
                PRESETS.concat([{ id: CUSTOM }]).forEach(function(p) {
                    var text = t(type + ".preset." + p.id);
                    if (p.value) {
                        text += " (" + p.value + ")";
                    }
                    $("<option>").val(p.id).text(text).appendTo(select);
                });

                var current = presetFor(value);
                select.val(current ? current.id : CUSTOM);
                if (!current) {
                    customRow.removeClass("hide");
                }

                select.on("change", function() {
                    var id = select.val();
                    if (id === CUSTOM) {
                        customRow.removeClass("hide");
                        input.trigger("focus");
                    } else {
                        customRow.addClass("hide");
                        for (var i = 0; i < PRESETS.length; i++) {
                            if (PRESETS[i].id === id) {
                                input.val(PRESETS[i].value);
                            }
                        }
                    }
                    input.trigger("change");
                });
            }
        };
    }

    global.NoojeeEditor = { form: form, shortList: shortList };
})(this);
