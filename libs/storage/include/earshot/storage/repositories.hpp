#pragma once
// Repository interfaces: what the services need from storage, independent of MySQL. This
// header only gathers the per-domain headers below, for code that uses many of them; include
// the one you need where one is enough. The contract every repository keeps (tenant
// scoping, errors) is in repository_common.hpp. Implementations: mysql_repositories.hpp.
// In-memory fakes: tests/fakes/storage/.

#include "earshot/storage/analysis_repositories.hpp"        // analyses, embeddings, category matches, escalations
#include "earshot/storage/call_detail_repository.hpp"       // CallDetail, CallDetailRepository
#include "earshot/storage/call_repository.hpp"              // calls
#include "earshot/storage/config_repositories.hpp"          // pipeline config, analysis agents
#include "earshot/storage/human_agent_repository.hpp"       // human agents
#include "earshot/storage/note_repository.hpp"              // call notes
#include "earshot/storage/processing_event_repository.hpp"  // pipeline history
#include "earshot/storage/rag_repositories.hpp"             // knowledge base, chat sessions
#include "earshot/storage/repository_common.hpp"            // Id, the contract
#include "earshot/storage/rule_set_repository.hpp"          // categories, scorecards
#include "earshot/storage/sync_repositories.hpp"            // watermarks, CRM leads
#include "earshot/storage/tenancy_repositories.hpp"         // businesses, users, platform admins, API keys
#include "earshot/storage/transcript_repository.hpp"        // transcripts, metrics
