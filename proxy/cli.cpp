// The doorman command line: serve, check-config, migrate, users create|list|set, version,
// and hash-helper, which only `serve` starts (hash_helper.hpp).
#include "proxy/cli.hpp"

#include <charconv>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "authcore/email.hpp"
#include "authcore/password.hpp"
#include "authcore/soci_user_store.hpp"
#include "authcore/user.hpp"
#include "authcore/uuid.hpp"
#include "config/config_loader.hpp"
#include "proxy/hash_helper_process.hpp"
#include "proxy/invalidation_bus.hpp"
#include "proxy/runtime.hpp"
#include "proxy/server.hpp"

namespace doorman::proxy {
namespace {

constexpr const char* usage_text =
    "usage: doorman serve --config FILE\n"
    "       doorman check-config --config FILE\n"
    "       doorman migrate --config FILE\n"
    "       doorman users create --config FILE --email E (--password P | --password-stdin)\n"
    "                            [--superuser] [--verified] [--inactive]\n"
    "       doorman users list --config FILE\n"
    "       doorman users set --config FILE --email E [--superuser true|false] [--verified true|false]\n"
    "                         [--active true|false]\n"
    "       doorman version\n";

struct UsageError {
  std::string message;
};

// Options of one command: which take a value, which are switches.
struct OptionSpec {
  std::set<std::string> valued;
  std::set<std::string> switches;
};

std::map<std::string, std::string> parse_options(const std::vector<std::string>& args, std::size_t first,
                                                 const OptionSpec& spec) {
  std::map<std::string, std::string> options;
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (spec.switches.count(name) != 0 && !inline_value) {
      options[name] = "true";
    } else if (spec.valued.count(name) != 0) {
      if (inline_value) {
        options[name] = *inline_value;
      } else if (i + 1 < args.size()) {
        options[name] = args[++i];
      } else {
        throw UsageError{"option " + name + " needs a value"};
      }
    } else {
      throw UsageError{"unknown argument '" + args[i] + "'"};
    }
  }
  return options;
}

std::string required(const std::map<std::string, std::string>& options, const std::string& name) {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) throw UsageError{"missing " + name};
  return it->second;
}

std::optional<bool> parse_flag(const std::map<std::string, std::string>& options, const std::string& name) {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  throw UsageError{name + " takes true or false, not '" + it->second + "'"};
}

// Loads the config or prints every error and returns null.
config::ConfigPtr load_or_report(const std::string& path, std::ostream& err) {
  auto loaded = config::load_config_file(path);
  if (loaded.ok()) return loaded.config;
  for (const auto& error : loaded.errors) err << "doorman: config error: " << error.to_string() << "\n";
  return nullptr;
}

int cmd_serve(const std::string& config_path, std::ostream& err) {
  auto config = load_or_report(config_path, err);
  if (!config) return exit_usage_error;
  return serve(build_runtime(config));
}

int cmd_check_config(const std::string& config_path, std::ostream& out, std::ostream& err) {
  auto config = load_or_report(config_path, err);
  if (!config) return exit_usage_error;
  out << config::render_effective_config(*config);
  return exit_ok;
}

int cmd_migrate(const config::Config& config, std::ostream& out) {
  authcore::SociUserStore store(config.database);
  auto report = store.migrate();
  for (const auto& action : report.actions) out << action << "\n";
  for (const auto& warning : report.warnings) out << "warning: " << warning << "\n";
  if (report.actions.empty()) out << "schema is up to date\n";
  return exit_ok;
}

std::string read_password(const std::map<std::string, std::string>& options, std::istream& in) {
  bool from_stdin = options.count("--password-stdin") != 0;
  bool given = options.count("--password") != 0;
  if (from_stdin == given) throw UsageError{"give exactly one of --password and --password-stdin"};
  if (given) return options.at("--password");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int cmd_users_create(const config::Config& config, const std::map<std::string, std::string>& options,
                     std::istream& in, std::ostream& out, std::ostream& err) {
  auto email = authcore::normalize_email(required(options, "--email"));
  if (!email) throw UsageError{"--email is not a valid email address: " + email.error().reason};
  std::string password = read_password(options, in);
  if (static_cast<int>(password.size()) < config.users.password_min_length) {
    // Counted in bytes here; the HTTP routes count code points. Bytes >= code points,
    // so a password refused here would be refused there too.
    throw UsageError{"password should be at least " + std::to_string(config.users.password_min_length) +
                     " characters"};
  }
  authcore::SociUserStore store(config.database);
  store.migrate();
  authcore::User user;
  user.id = authcore::new_uuid4();
  user.email = email.value();
  user.hashed_password = authcore::PasswordHasher().hash(password);
  user.is_active = options.count("--inactive") == 0;
  user.is_superuser = options.count("--superuser") != 0;
  user.is_verified = options.count("--verified") != 0;
  auto created = store.create(user);
  if (!created) {
    err << "doorman: "
        << (created.error() == authcore::StoreError::duplicate_email ? "a user with this email already exists"
                                                                     : "the database is unavailable")
        << "\n";
    return exit_runtime_error;
  }
  out << authcore::user_json(created.value()) << "\n";
  return exit_ok;
}

int cmd_users_list(const config::Config& config, std::ostream& out, std::ostream& err) {
  authcore::SociUserStore store(config.database);
  auto users = store.list_users();
  if (!users) {
    err << "doorman: the database is unavailable\n";
    return exit_runtime_error;
  }
  for (const auto& user : users.value()) out << authcore::user_json(user) << "\n";
  return exit_ok;
}

int cmd_users_set(const config::Config& config, const std::map<std::string, std::string>& options,
                  std::ostream& out, std::ostream& err) {
  std::string email = required(options, "--email");
  auto superuser = parse_flag(options, "--superuser");
  auto verified = parse_flag(options, "--verified");
  auto active = parse_flag(options, "--active");
  if (!superuser && !verified && !active)
    throw UsageError{"nothing to set: give --superuser, --verified or --active"};
  authcore::SociUserStore store(config.database);
  auto found = store.find_by_email(email);
  if (!found) {
    err << "doorman: the database is unavailable\n";
    return exit_runtime_error;
  }
  if (!found.value()) {
    err << "doorman: no user with email " << email << "\n";
    return exit_runtime_error;
  }
  authcore::User user = *found.value();
  if (superuser) user.is_superuser = *superuser;
  if (verified) user.is_verified = *verified;
  if (active) user.is_active = *active;
  auto updated = store.update(user);
  if (!updated) {
    err << "doorman: the database is unavailable\n";
    return exit_runtime_error;
  }
  // Running replicas drop their cached copy now, not after users.cache_ttl_ms (a failure is only logged).
  if (auto endpoint = invalidation_endpoint(config))
    InvalidationBus(std::move(*endpoint), nullptr).publish(user.id);
  out << authcore::user_json(updated.value()) << "\n";
  return exit_ok;
}

// Internal: the helper process `serve` starts for password hashing (hash_helper.hpp).
int cmd_hash_helper(const std::map<std::string, std::string>& options) {
  const auto number = [&](const std::string& name) {
    const std::string& text = required(options, name);
    unsigned long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) throw UsageError{name + " takes a number"};
    return value;
  };
  const authcore::PasswordHasherParams params{number("--ops-limit"),
                                              static_cast<std::size_t>(number("--mem-limit"))};
  return run_hash_helper(params, static_cast<pid_t>(number("--parent")));
}

int dispatch(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  if (args.empty()) throw UsageError{"missing command"};
  const std::string& command = args[0];
  if (command == "version" || command == "--version") {
    if (args.size() > 1) throw UsageError{"version takes no arguments"};
    out << "doorman " << DOORMAN_VERSION << "\n";
    return exit_ok;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    out << usage_text;
    return exit_ok;
  }
  if (command == "hash-helper")
    return cmd_hash_helper(parse_options(args, 1, {{"--ops-limit", "--mem-limit", "--parent"}, {}}));
  const OptionSpec config_only{{"--config"}, {}};
  if (command == "--config") return cmd_serve(required(parse_options(args, 0, config_only), "--config"), err);
  if (command == "serve") return cmd_serve(required(parse_options(args, 1, config_only), "--config"), err);
  if (command == "check-config") {
    return cmd_check_config(required(parse_options(args, 1, config_only), "--config"), out, err);
  }
  if (command == "migrate" || command == "users") {
    std::string sub = command == "users" ? (args.size() > 1 ? args[1] : "") : "";
    OptionSpec spec = config_only;
    std::size_t first = command == "users" ? 2 : 1;
    if (sub == "create") {
      spec.valued.insert({"--email", "--password"});
      spec.switches.insert({"--password-stdin", "--superuser", "--verified", "--inactive"});
    } else if (sub == "set") {
      spec.valued.insert({"--email", "--superuser", "--verified", "--active"});
    } else if (command == "users" && sub != "list") {
      throw UsageError{"users takes create, list or set"};
    }
    auto options = parse_options(args, first, spec);
    auto config = load_or_report(required(options, "--config"), err);
    if (!config) return exit_usage_error;
    if (command == "migrate") return cmd_migrate(*config, out);
    if (sub == "create") return cmd_users_create(*config, options, in, out, err);
    if (sub == "list") return cmd_users_list(*config, out, err);
    return cmd_users_set(*config, options, out, err);
  }
  throw UsageError{"unknown command '" + command + "'"};
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  try {
    return dispatch(args, in, out, err);
  } catch (const UsageError& e) {
    err << "doorman: " << e.message << " (see 'doorman help')\n";
    return exit_usage_error;
  } catch (const std::exception& e) {
    err << "doorman: " << e.what() << "\n";
    return exit_runtime_error;
  }
}

}  // namespace doorman::proxy
