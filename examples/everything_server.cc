// The conformance "everything" server: every MCP feature the official conformance suite
// (@modelcontextprotocol/conformance) exercises, built on SuperTable's own protocol library and
// HTTP transport, with the fixtures the suite expects (tools test_*, resources test://...,
// prompts test_*). It knows nothing of tables; it exists to prove the library.
//
//   mcp_everything_server --port 3001     serves http://127.0.0.1:3001/mcp until SIGTERM/SIGINT
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "mcp/server.h"
#include "mcp/streamable_http.h"

using supertable::mcp::json;
namespace mcp = supertable::mcp;

namespace {

// A 1x1 PNG and a two-sample WAV, as the conformance reference server sends them.
const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg"
    "==";
const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

json NoArgs() { return {{"type", "object"}, {"properties", json::object()}}; }

mcp::ToolResult Content(json blocks) {
  mcp::ToolResult r;
  r.content = std::move(blocks);
  return r;
}

json Text(const std::string& t) { return {{"type", "text"}, {"text", t}}; }

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Runs an elicitation and reports what the client answered, as the reference server does.
mcp::ToolResult Elicit(mcp::ToolContext& ctx, const std::string& prefix, json request) {
  auto answer = ctx.AskClient("elicitation/create", std::move(request));
  if (!answer.ok()) return mcp::ToolResult::Error(answer.status().message());
  return Content(json::array({Text(prefix + "action=" + answer->value("action", "") + ", content=" +
                                   answer->value("content", json::object()).dump())}));
}

void AddTools(mcp::Server& s) {
  // `needs`: the client capabilities the tool cannot work without (Tool::required_client_...).
  auto add = [&](std::string name, std::string description, json schema,
                 std::function<mcp::ToolResult(mcp::ToolContext&)> fn, json needs = nullptr) {
    mcp::Tool t;
    t.required_client_capabilities = std::move(needs);
    t.name = std::move(name);
    t.description = std::move(description);
    t.input_schema = std::move(schema);
    t.annotations.idempotent = false;
    t.handler = std::move(fn);
    s.AddTool(std::move(t));
  };
  add("test_simple_text", "Tests simple text content response", NoArgs(), [](mcp::ToolContext&) {
    return Content(json::array({Text("This is a simple text response for testing.")}));
  });
  add("test_image_content", "Tests image content response", NoArgs(), [](mcp::ToolContext&) {
    return Content(json::array({{{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}}));
  });
  add("test_audio_content", "Tests audio content response", NoArgs(), [](mcp::ToolContext&) {
    return Content(json::array({{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}}));
  });
  add("test_embedded_resource", "Tests embedded resource content response", NoArgs(),
      [](mcp::ToolContext&) {
        return Content(json::array({{{"type", "resource"},
                                     {"resource",
                                      {{"uri", "test://embedded-resource"},
                                       {"mimeType", "text/plain"},
                                       {"text", "This is an embedded resource content."}}}}}));
      });
  add("test_multiple_content_types",
      "Tests response with multiple content types (text, image, resource)", NoArgs(),
      [](mcp::ToolContext&) {
        return Content(json::array({Text("Multiple content types test:"),
                                    {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}},
                                    {{"type", "resource"},
                                     {"resource",
                                      {{"uri", "test://mixed-content-resource"},
                                       {"mimeType", "application/json"},
                                       {"text", R"({"test":"data","value":123})"}}}}}));
      });
  auto logging = [](mcp::ToolContext& ctx) {
    ctx.Log("info", "Tool execution started");
    Sleep(50);
    ctx.Log("info", "Tool processing data");
    Sleep(50);
    ctx.Log("info", "Tool execution completed");
    return Content(json::array({Text("Tool with logging executed successfully")}));
  };
  add("test_tool_with_logging", "Tests tool that emits log messages during execution", NoArgs(),
      logging);
  // The name the 2026-07-28 suite's stateless scenario looks for (no logs without a logLevel).
  add("test_logging_tool", "Tests that a tool logs only at the level its request names", NoArgs(),
      logging);
  add("test_tool_with_progress", "Tests tool that reports progress notifications", NoArgs(),
      [](mcp::ToolContext& ctx) {
        for (int step : {0, 50, 100}) {
          ctx.Progress(step, 100, "Completed step " + std::to_string(step) + " of 100");
          if (step < 100) Sleep(50);
        }
        const json& token = ctx.progress_token();
        std::string t = token.is_string() ? token.get<std::string>() : token.dump();
        return Content(json::array({Text(t)}));
      });
  add("test_error_handling", "Tests error response handling", NoArgs(), [](mcp::ToolContext&) {
    mcp::ToolResult r =
        Content(json::array({Text("This tool intentionally returns an error for testing")}));
    r.is_error = true;
    return r;
  });
  add("test_reconnection",
      "Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the "
      "stream mid-call and send the result after client reconnects.",
      NoArgs(), [](mcp::ToolContext& ctx) {
        ctx.CloseStream();
        Sleep(100);
        return Content(json::array(
            {Text("Reconnection test completed successfully. If you received this, the client "
                  "properly reconnected after stream closure.")}));
      });
  const json prompt_args = {
      {"type", "object"},
      {"properties",
       {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}}},
      {"required", {"prompt"}}};
  auto sampling = [](mcp::ToolContext& ctx) {
    json request = {
        {"messages",
         json::array({{{"role", "user"}, {"content", Text(ctx.arguments()["prompt"])}}})},
        {"maxTokens", 100}};
    auto answer = ctx.AskClient("sampling/createMessage", request);
    if (!answer.ok()) return mcp::ToolResult::Error(answer.status().message());
    json content = answer->value("content", json::object());
    std::string text = content.is_object() ? content.value("text", "") : "";
    return Content(json::array({Text("LLM response: " + text)}));
  };
  add("test_sampling", "Tests server-initiated sampling (LLM completion request)", prompt_args,
      sampling, {{"sampling", json::object()}});
  // The 2026-07-28 suite's hook for list changes: adds a tool, or takes it away again, so
  // that subscribers of tool list changes get notifications/tools/list_changed.
  add("test_trigger_tool_change", "Adds or removes the tool test_dynamic_tool (a list change)",
      NoArgs(), [&s](mcp::ToolContext&) {
        if (s.RemoveTool("test_dynamic_tool")) return Content(json::array({Text("removed")}));
        mcp::Tool t;
        t.name = "test_dynamic_tool";
        t.description = "A tool that test_trigger_tool_change added";
        t.input_schema = NoArgs();
        t.handler = [](mcp::ToolContext&) { return Content(json::array({Text("dynamic")})); };
        s.AddTool(std::move(t));
        return Content(json::array({Text("added")}));
      });
  // The 2026-07-28 suite's probe of Mcp-Param-* headers: an argument marked x-mcp-header.
  add("test_header_param", "Echoes an argument that also travels in the Mcp-Param-Region header",
      {{"type", "object"},
       {"properties",
        {{"region",
          {{"type", "string"}, {"description", "A region"}, {"x-mcp-header", "Region"}}}}},
       {"required", {"region"}}},
      [](mcp::ToolContext& ctx) {
        return Content(json::array({Text("region=" + ctx.arguments().value("region", ""))}));
      });
  // The 2026-07-28 suite's probe of -32021: a tool that cannot work without sampling.
  add("test_missing_capability", "Tests a tool that needs the client's sampling capability",
      prompt_args, sampling, {{"sampling", json::object()}});
  add("test_elicitation", "Tests server-initiated elicitation (user input request)",
      {{"type", "object"},
       {"properties",
        {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}}},
       {"required", {"message"}}},
      [](mcp::ToolContext& ctx) {
        json schema = {{"type", "object"},
                       {"properties",
                        {{"username", {{"type", "string"}, {"description", "User's response"}}},
                         {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                       {"required", {"username", "email"}}};
        return Elicit(ctx, "User response: ",
                      {{"message", ctx.arguments()["message"]}, {"requestedSchema", schema}});
      },
      {{"elicitation", json::object()}});
  add("test_elicitation_sep1034_defaults", "Tests elicitation with default values per SEP-1034",
      NoArgs(),
      [](mcp::ToolContext& ctx) {
        json props = {
            {"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
            {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
            {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
            {"status",
             {{"type", "string"},
              {"description", "User status"},
              {"enum", {"active", "inactive", "pending"}},
              {"default", "active"}}},
            {"verified",
             {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
        return Elicit(ctx, "Elicitation completed: ",
                      {{"message", "Please review and update the form fields with defaults"},
                       {"requestedSchema",
                        {{"type", "object"}, {"properties", props}, {"required", json::array()}}}});
      },
      {{"elicitation", json::object()}});
  add("test_elicitation_sep1330_enums",
      "Tests elicitation with enum schema improvements per SEP-1330", NoArgs(),
      [](mcp::ToolContext& ctx) {
        auto titled = [](const char* prefix, const char* word) {
          json out = json::array();
          const char* ordinals[] = {"First", "Second", "Third"};
          for (int i = 0; i < 3; ++i) {
            out.push_back({{"const", std::string(prefix) + std::to_string(i + 1)},
                           {"title", std::string(ordinals[i]) + " " + word}});
          }
          return out;
        };
        json props = {
            {"untitledSingle",
             {{"type", "string"},
              {"description", "Select one option"},
              {"enum", {"option1", "option2", "option3"}}}},
            {"titledSingle",
             {{"type", "string"},
              {"description", "Select one option with titles"},
              {"oneOf", titled("value", "Option")}}},
            {"legacyEnum",
             {{"type", "string"},
              {"description", "Select one option (legacy)"},
              {"enum", {"opt1", "opt2", "opt3"}},
              {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
            {"untitledMulti",
             {{"type", "array"},
              {"description", "Select multiple options"},
              {"minItems", 1},
              {"maxItems", 3},
              {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
            {"titledMulti",
             {{"type", "array"},
              {"description", "Select multiple options with titles"},
              {"minItems", 1},
              {"maxItems", 3},
              {"items", {{"anyOf", titled("value", "Choice")}}}}}};
        return Elicit(ctx, "Elicitation completed: ",
                      {{"message", "Please select options from the enum fields"},
                       {"requestedSchema",
                        {{"type", "object"}, {"properties", props}, {"required", json::array()}}}});
      },
      {{"elicitation", json::object()}});
  // The multi round-trip pattern (2026-07-28): each tool asks with ToolContext::Ask, which in
  // a legacy session is a request to the client and in a modern request an InputRequiredResult
  // the client answers by calling again.
  auto elicit_name = [](const std::string& message, const std::string& field) {
    return json{{"message", message},
                {"requestedSchema",
                 {{"type", "object"},
                  {"properties", {{field, {{"type", "string"}}}}},
                  {"required", {field}}}}};
  };
  auto sample = [](const std::string& text, int max_tokens) {
    return json{
        {"messages",
         json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", text}}}}})},
        {"maxTokens", max_tokens}};
  };
  // The text of an elicitation's answer field, a sampling's text, or the roots' URIs.
  auto said = [](const json& answer, const std::string& field) -> std::string {
    if (answer.contains("content") && answer["content"].is_object()) {
      const json& c = answer["content"];
      if (c.contains(field))
        return c[field].is_string() ? c[field].get<std::string>() : c[field].dump();
      if (c.contains("text") && c["text"].is_string()) return c["text"];
    }
    if (answer.contains("roots") && answer["roots"].is_array()) {
      std::string uris;
      for (const auto& r : answer["roots"]) uris += (uris.empty() ? "" : ", ") + r.value("uri", "");
      return uris;
    }
    return answer.dump();
  };
  // One question, then an answer built from what the client said.
  auto one_question = [&](std::string key, std::string method, json params, std::string field,
                          std::string prefix) {
    return [=](mcp::ToolContext& ctx) {
      auto answer = ctx.Ask(key, method, params);
      if (!answer.ok()) return mcp::ToolResult::Error(answer.status().message());
      if (!*answer) return ctx.NeedInput();
      std::string state = ctx.resumed() ? " (state-ok)" : "";
      return Content(json::array({Text(prefix + said(**answer, field) + state)}));
    };
  };
  add("test_input_required_result_elicitation", "Asks the user's name (multi round-trip)", NoArgs(),
      one_question("user_name", "elicitation/create", elicit_name("What is your name?", "name"),
                   "name", "Hello, "));
  add("test_input_required_result_sampling",
      "Asks the client's model a question (multi round-trip)", NoArgs(),
      one_question("capital_question", "sampling/createMessage",
                   sample("What is the capital of France?", 100), "text", "The model said: "));
  add("test_input_required_result_list_roots", "Asks the client's roots (multi round-trip)",
      NoArgs(), one_question("client_roots", "roots/list", json::object(), "", "Roots: "));
  // The 2026-07-28 suite's probe that a modern call's stream carries no request to the client:
  // it asks through the multi round-trip pattern instead.
  add("test_streaming_elicitation", "Asks the user's name on a call answered as a stream", NoArgs(),
      one_question("user_name", "elicitation/create", elicit_name("What is your name?", "name"),
                   "name", "Hello, "),
      {{"elicitation", json::object()}});
  json confirm = {{"message", "Please confirm"},
                  {"requestedSchema",
                   {{"type", "object"},
                    {"properties", {{"ok", {{"type", "boolean"}}}}},
                    {"required", {"ok"}}}}};
  add("test_input_required_result_request_state",
      "Asks for a confirmation and reports that its request state came back verified", NoArgs(),
      one_question("confirm", "elicitation/create", confirm, "ok", "Confirmed: "));
  add("test_input_required_result_tampered_state",
      "Asks for a confirmation; a changed request state is refused", NoArgs(),
      one_question("confirm", "elicitation/create", confirm, "ok", "Confirmed: "));
  add("test_input_required_result_multiple_inputs",
      "Asks for a name, a model's greeting and the roots at once (multi round-trip)", NoArgs(),
      [=](mcp::ToolContext& ctx) {
        auto name =
            ctx.Ask("user_name", "elicitation/create", elicit_name("What is your name?", "name"));
        auto greeting =
            ctx.Ask("greeting", "sampling/createMessage", sample("Generate a greeting", 50));
        auto roots = ctx.Ask("client_roots", "roots/list", json::object());
        for (const auto* r : {&name, &greeting, &roots}) {
          if (!r->ok()) return mcp::ToolResult::Error(r->status().message());
        }
        if (!*name || !*greeting || !*roots) return ctx.NeedInput();
        return Content(json::array({Text(said(**greeting, "text") + ", " + said(**name, "name") +
                                         "; roots: " + said(**roots, ""))}));
      });
  add("test_input_required_result_multi_round", "Asks two questions, one after the other", NoArgs(),
      [=](mcp::ToolContext& ctx) {
        auto name = ctx.Ask("step1", "elicitation/create",
                            elicit_name("Step 1: What is your name?", "name"));
        if (!name.ok()) return mcp::ToolResult::Error(name.status().message());
        if (!*name) return ctx.NeedInput();
        auto color = ctx.Ask("step2", "elicitation/create",
                             elicit_name("Step 2: What is your favorite color?", "color"));
        if (!color.ok()) return mcp::ToolResult::Error(color.status().message());
        if (!*color) return ctx.NeedInput();
        return Content(
            json::array({Text(said(**name, "name") + " likes " + said(**color, "color"))}));
      });
  add("test_input_required_result_capabilities",
      "Asks only what the client declared it can answer (sampling, elicitation)", NoArgs(),
      [=](mcp::ToolContext& ctx) {
        auto model = ctx.Ask("model_question", "sampling/createMessage", sample("Say hello", 20));
        auto user = ctx.Ask("user_question", "elicitation/create",
                            elicit_name("What is your name?", "name"));
        bool pending = (model.ok() && !*model) || (user.ok() && !*user);
        if (pending) return ctx.NeedInput();
        if (!model.ok() && !user.ok()) return mcp::ToolResult::Error(model.status().message());
        return Content(json::array({Text("Answered")}));
      });
  // The tasks extension's fixtures (the 2026-07-28 suite's tasks scenarios): calls that a
  // client declaring io.modelcontextprotocol/tasks gets as tasks.
  auto add_task = [&](std::string name, std::string description, json schema,
                      mcp::TaskSupport support, int64_t after_ms,
                      std::function<mcp::ToolResult(mcp::ToolContext&)> fn) {
    mcp::Tool t;
    t.name = std::move(name);
    t.description = std::move(description);
    t.input_schema = std::move(schema);
    t.annotations.idempotent = false;
    t.handler = std::move(fn);
    t.task = support;
    t.task_after_ms = after_ms;
    s.AddTool(std::move(t));
  };
  add("greet", "Greets someone, at once (never a task)",
      {{"type", "object"},
       {"properties", {{"name", {{"type", "string"}}}}},
       {"required", {"name"}}},
      [](mcp::ToolContext& ctx) {
        return Content(
            json::array({Text("Hello, " + ctx.arguments()["name"].get<std::string>() + "!")}));
      });
  // A call still running after 200 ms becomes a task; it stops early when cancelled.
  add_task("slow_compute", "Takes `seconds` to compute; a task when that is long",
           {{"type", "object"},
            {"properties",
             {{"seconds", {{"type", "number"}, {"minimum", 0}, {"maximum", 600}}},
              {"label", {{"type", "string"}}}}},
            {"required", {"seconds"}}},
           mcp::TaskSupport::kOptional, 200, [](mcp::ToolContext& ctx) {
             double seconds = ctx.arguments()["seconds"].get<double>();
             auto until = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
             while (std::chrono::steady_clock::now() < until) {
               if (ctx.cancelled()) return mcp::ToolResult::Error("cancelled");
               Sleep(10);
             }
             std::string label = ctx.arguments().value("label", "result");
             return Content(
                 json::array({Text(fmt::format("{}: computed in {} seconds", label, seconds))}));
           });
  add_task("failing_job", "A job that always ends with a tool error (always a task)", NoArgs(),
           mcp::TaskSupport::kRequired, -1, [](mcp::ToolContext&) {
             mcp::ToolResult r = Content(json::array({Text("the job failed on purpose")}));
             r.is_error = true;
             return r;
           });
  add_task("protocol_error_job", "A job that fails with a JSON-RPC error (always a task)", NoArgs(),
           mcp::TaskSupport::kRequired, -1, [](mcp::ToolContext&) {
             return mcp::ToolResult::ProtocolError(-32603, "the job hit an internal error");
           });
  // Become a task first, then ask: the task waits in input_required for tasks/update.
  add_task("confirm_delete", "Deletes a file after the user confirms (a task that asks)",
           {{"type", "object"},
            {"properties", {{"filename", {{"type", "string"}}}}},
            {"required", {"filename"}}},
           mcp::TaskSupport::kOptional, -1, [=](mcp::ToolContext& ctx) {
             ctx.Detach();
             std::string file = ctx.arguments()["filename"];
             json question = {{"message", "Delete " + file + "?"},
                              {"requestedSchema",
                               {{"type", "object"},
                                {"properties", {{"confirm", {{"type", "boolean"}}}}},
                                {"required", {"confirm"}}}}};
             auto answer = ctx.Ask("confirm_delete", "elicitation/create", question);
             if (!answer.ok()) return mcp::ToolResult::Error(answer.status().message());
             if (!*answer) return ctx.NeedInput();
             bool yes = (**answer).value("action", "") == "accept" &&
                        (**answer).value("content", json::object()).value("confirm", false);
             return Content(json::array({Text(yes ? "Deleted " + file : "Kept " + file)}));
           });
  add_task("multi_input", "A task that asks two questions at once", NoArgs(),
           mcp::TaskSupport::kOptional, -1, [=](mcp::ToolContext& ctx) {
             ctx.Detach();
             auto first = ctx.Ask("first", "elicitation/create",
                                  elicit_name("First: what is your name?", "name"));
             auto second = ctx.Ask("second", "elicitation/create",
                                   elicit_name("Second: what is your name?", "name"));
             for (const auto* r : {&first, &second}) {
               if (!r->ok()) return mcp::ToolResult::Error(r->status().message());
             }
             if (!*first || !*second) return ctx.NeedInput();
             return Content(
                 json::array({Text(said(**first, "name") + " and " + said(**second, "name"))}));
           });
  // Asks in plain round trips first; with the answer, goes on as a task.
  add_task("test_tool_with_task", "Asks a name, then greets as a task", NoArgs(),
           mcp::TaskSupport::kRequired, -1, [=](mcp::ToolContext& ctx) {
             auto name = ctx.Ask("user_name", "elicitation/create",
                                 elicit_name("What is your name?", "name"));
             if (!name.ok()) return mcp::ToolResult::Error(name.status().message());
             if (!*name) return ctx.NeedInput();
             ctx.Detach();
             return Content(json::array({Text("Hello, " + said(**name, "name") + "!")}));
           });
  add("json_schema_2020_12_tool",
      "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
      json::parse(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
        "$defs":{"address":{"type":"object","properties":{"street":{"type":"string"},
        "city":{"type":"string"}}}},"properties":{"name":{"type":"string"},
        "address":{"$ref":"#/$defs/address"}},"additionalProperties":false})"),
      [](mcp::ToolContext& ctx) {
        return Content(
            json::array({Text("JSON Schema 2020-12 tool called with: " + ctx.arguments().dump())}));
      });
}

// A resource without variables in its URI is a single resource.
void AddResource(mcp::Server& s, std::string uri, std::string name, std::string title,
                 std::string description, std::string mime, std::string text, std::string blob) {
  mcp::ResourceTemplate t;
  t.uri_template = uri;
  t.name = name;
  t.title = title;
  t.description = description;
  t.mime_type = mime;
  mcp::Resource r{uri, name, title, description, mime};
  t.list = [r](const mcp::RequestContext&) { return std::vector<mcp::Resource>{r}; };
  t.read = [uri, mime, text, blob](const mcp::RequestContext&,
                                   const std::map<std::string, std::string>&, std::string*) {
    return std::optional<mcp::ResourceContent>(mcp::ResourceContent{uri, mime, text, blob});
  };
  s.AddResourceTemplate(std::move(t));
}

void AddResources(mcp::Server& s) {
  AddResource(s, "test://static-text", "static-text", "Static Text Resource",
              "A static text resource for testing", "text/plain",
              "This is the content of the static text resource.", "");
  AddResource(s, "test://static-binary", "static-binary", "Static Binary Resource",
              "A static binary resource (image) for testing", "image/png", "", kPng);
  AddResource(s, "test://watched-resource", "watched-resource", "Watched Resource",
              "A resource clients can subscribe to", "text/plain", "Watched resource content", "");
  mcp::ResourceTemplate t;
  t.uri_template = "test://template/{id}/data";
  t.name = "template";
  t.title = "Resource Template";
  t.description = "A resource template with parameter substitution";
  t.mime_type = "application/json";
  t.read = [](const mcp::RequestContext&, const std::map<std::string, std::string>& vars,
              std::string*) {
    const std::string& id = vars.at("id");
    json body = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
    return std::optional<mcp::ResourceContent>(mcp::ResourceContent{
        "test://template/" + id + "/data", "application/json", body.dump(), ""});
  };
  s.AddResourceTemplate(std::move(t));
}

void AddPrompts(mcp::Server& s) {
  auto user = [](json content) { return json{{"role", "user"}, {"content", std::move(content)}}; };
  s.AddPrompt({"test_simple_prompt",
               "Simple Test Prompt",
               "A simple prompt without arguments",
               {},
               [user](const mcp::RequestContext&, const std::map<std::string, std::string>&,
                      mcp::ClientInput&) {
                 return json::array({user(Text("This is a simple prompt for testing."))});
               },
               nullptr});
  s.AddPrompt({"test_prompt_with_arguments",
               "Prompt With Arguments",
               "A prompt with required arguments",
               {{"arg1", "First test argument", true}, {"arg2", "Second test argument", true}},
               [user](const mcp::RequestContext&, const std::map<std::string, std::string>& a,
                      mcp::ClientInput&) {
                 return json::array({user(Text("Prompt with arguments: arg1='" + a.at("arg1") +
                                               "', arg2='" + a.at("arg2") + "'"))});
               },
               nullptr});
  s.AddPrompt({"test_prompt_with_embedded_resource",
               "Prompt With Embedded Resource",
               "A prompt that includes an embedded resource",
               {{"resourceUri", "URI of the resource to embed", true}},
               [user](const mcp::RequestContext&, const std::map<std::string, std::string>& a,
                      mcp::ClientInput&) {
                 return json::array({user({{"type", "resource"},
                                           {"resource",
                                            {{"uri", a.at("resourceUri")},
                                             {"mimeType", "text/plain"},
                                             {"text", "Embedded resource content for testing."}}}}),
                                     user(Text("Please process the embedded resource above."))});
               },
               nullptr});
  s.AddPrompt({"test_prompt_with_image",
               "Prompt With Image",
               "A prompt that includes image content",
               {},
               [user](const mcp::RequestContext&, const std::map<std::string, std::string>&,
                      mcp::ClientInput&) {
                 return json::array(
                     {user({{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}),
                      user(Text("Please analyze the image above."))});
               },
               nullptr});
  // The 2026-07-28 suite's multi round-trip prompt: it asks the user for context first.
  s.AddPrompt({"test_input_required_result_prompt",
               "Prompt That Asks First",
               "A prompt that needs the user's context (elicitation) before it renders",
               {},
               [user](const mcp::RequestContext&, const std::map<std::string, std::string>&,
                      mcp::ClientInput& input) {
                 auto answer = input.Ask("user_context", "elicitation/create",
                                         {{"message", "What context should the prompt use?"},
                                          {"requestedSchema",
                                           {{"type", "object"},
                                            {"properties", {{"context", {{"type", "string"}}}}},
                                            {"required", {"context"}}}}});
                 if (!answer.ok()) return json{{"error", answer.status().message()}};
                 if (!*answer) return json::array();  // asked: the client answers, then again
                 std::string context =
                     (**answer).value("content", json::object()).value("context", "");
                 return json::array({user(Text("Prompt for the context: " + context))});
               },
               nullptr});
}

int Usage() {
  std::cerr << "usage: mcp_everything_server [--port N] [--host 127.0.0.1]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mcp::HttpTransportOptions o;
  o.http.port = 3001;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--port" || a == "--host") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--host") {
        o.http.host = v;
        continue;
      }
      char* end = nullptr;
      long p = std::strtol(v.c_str(), &end, 10);
      if (*end || p < 0 || p > 65535) return Usage();
      o.http.port = static_cast<int>(p);
    } else {
      return Usage();
    }
  }
  mcp::BlockStopSignals();
  mcp::Server server({"mcp-everything-server", "SuperTable MCP everything server", "1.0.0",
                      "Conformance fixtures for SuperTable's MCP library."});
  AddTools(server);
  AddResources(server);
  AddPrompts(server);
  mcp::HttpTransport transport(server, o);
  auto port = transport.Start();
  if (!port.ok()) {
    std::cerr << "error: " << port.status().message() << "\n";
    return 1;
  }
  std::cout << "MCP everything server on http://" << o.http.host << ":" << *port << o.path
            << std::endl;
  mcp::WaitForStopSignal();
  transport.Stop();
  return 0;
}
