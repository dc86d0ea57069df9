DROP TABLE harvester_evalai_watermarks;
DROP TABLE harvester_evalai_submissions;
DROP TABLE harvester_jobs;
