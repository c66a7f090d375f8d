import sys

from grading.course.cli import main

sys.exit(main())
