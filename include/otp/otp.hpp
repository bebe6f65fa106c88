#pragma once
/// \file otp/otp.hpp
/// Umbrella header for examples and quick starts.
#include "otp/blocking.hpp"
#include "otp/describe.hpp"
#include "otp/error.hpp"
#include "otp/exit_reason.hpp"
#include "otp/gen_server.hpp"
#include "otp/logger.hpp"
#include "otp/message.hpp"
#include "otp/names.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/ref.hpp"
#include "otp/sys.hpp"
#include "otp/timer.hpp"
