// SPDX-License-Identifier: BSL-1.0
// hash_server: parse the command line, run the server.
#include "app/options.hpp"
#include "app/run.hpp"

#include <iostream>
#include <variant>

int main(int argc, char* argv[])
{
    auto parsed = hashsrv::parse_command_line(argc, argv);
    if (auto* done = std::get_if<hashsrv::early_exit>(&parsed)) {
        (done->code == 0 ? std::cout : std::cerr) << done->message;
        return done->code;
    }
    return hashsrv::run(std::get<hashsrv::config>(parsed));
}
