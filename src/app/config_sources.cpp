// SPDX-License-Identifier: BSL-1.0
#include "app/config_sources.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace hashsrv {

namespace {

constexpr std::uintmax_t max_config_bytes = 1 << 20;

std::invalid_argument file_error(std::string const& path, std::string const& what)
{
    return std::invalid_argument("--config " + path + ": " + what);
}

/// A special file (a FIFO, /dev/zero) could block or never end: regular files only.
void check_readable(std::string const& path)
{
    std::error_code ec;
    auto st = std::filesystem::status(path, ec);
    if (ec) throw file_error(path, ec.message());
    if (!std::filesystem::is_regular_file(st)) throw file_error(path, "not a regular file");
    if (std::filesystem::file_size(path, ec) > max_config_bytes) throw file_error(path, "larger than 1 MiB");
}

/// CLI11 reads a line without "=" as a flag set to "true", and skips lines
/// shorter than 3 characters: both would hide a typo.
void check_lines(std::string const& path, std::string const& text)
{
    std::istringstream in(text);
    std::size_t number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#' || line[first] == ';' || line[first] == '[') continue;
        if (line.find('=') == std::string::npos)
            throw file_error(path, "line " + std::to_string(number) + ": expected option = value, got '" + line + "'");
    }
}

} // namespace

environment process_environment()
{
    return [](char const* name) { return static_cast<char const*>(std::getenv(name)); };
}

std::string environment_name(std::string_view option)
{
    while (!option.empty() && option.front() == '-') option.remove_prefix(1);
    if (option == "port") return "HASH_SERVER_LISTEN_PORT";
    std::string name = "HASH_SERVER_";
    for (char c : option) name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return name;
}

std::string environment_value(environment const& env, std::string const& name)
{
    char const* v = env ? env(name.c_str()) : nullptr;
    return v ? v : "";
}

std::map<std::string, std::string> read_config_file(std::string const& path)
{
    check_readable(path);
    std::ifstream in(path);
    if (!in) throw file_error(path, "cannot be opened");
    std::string const text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    check_lines(path, text);
    std::vector<CLI::ConfigItem> items;
    try {
        std::istringstream lines(text);
        items = CLI::ConfigTOML().from_config(lines);
    } catch (CLI::Error const& e) {
        throw file_error(path, e.what());
    }
    std::map<std::string, std::string> values;
    for (auto const& item : items) {
        if (!item.parents.empty() || item.name == "--") throw file_error(path, "sections are not used: options only");
        if (item.inputs.empty() || item.inputs == std::vector<std::string>{""})
            throw file_error(path, item.name + ": empty value");
        // CLI11 merges a key given twice into one item with two inputs.
        if (item.inputs.size() != 1) throw file_error(path, item.name + ": expected one value (given twice, or a list)");
        values.emplace(item.name, item.inputs.front());
    }
    return values;
}

} // namespace hashsrv
