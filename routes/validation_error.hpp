// FastAPI's 422 items (api-contract.md §9): one builder per pydantic error
// type, keys in the order type, loc, msg, input, ctx; and the 422 answer.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "routes/answers.hpp"

namespace doorman::routes {

using ValidationItems = std::vector<Json>;

// loc is ["body"] or ["body", field].
Json body_loc(std::string_view field = {});

Json missing_item(Json loc, Json input);
Json string_type_item(Json loc, Json input);
Json bool_type_item(Json loc, Json input);
Json bool_parsing_item(Json loc, Json input);
Json email_item(Json loc, Json input, std::string_view reason);
Json string_pattern_mismatch_item(Json loc, Json input, std::string_view pattern);
// A model body that is not an object (array, string, unparsed bytes).
Json model_attributes_type_item(Json input);
Json json_invalid_item(std::size_t offset, std::string_view error);

// 422 {"detail":[items...]}
HttpAnswer validation_answer(const ValidationItems& items);

}  // namespace doorman::routes
