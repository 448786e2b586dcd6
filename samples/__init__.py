"""Sample jobs, resumes and call personas for the demo and the tests."""
